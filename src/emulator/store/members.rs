//! Access Groups: static memberships — listing, adding (one group or many), removing
//! (one, a batch, or from every group) — and the rules a member must satisfy.

use super::groups::read_only;
use super::{Actor, ApiError, MAX_GROUPS_PER_MEMBER, MAX_MEMBERS_PER_CALL, Store, check_batch};
use crate::emulator::clock;
use crate::emulator::state::{Member, MemberKind, MembershipType, PUBLIC_ACCESS_ID};

/// One group's result of a call on many groups: its id and how it went.
pub type GroupResult = (String, Result<(), ApiError>);

/// What a bulk removal did to one iam_id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    Removed,
    NotMember,
    /// A dynamic member: rules add it at login, so it cannot be removed (decision).
    Dynamic,
}

/// The display data `verbose=true` adds to a member.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemberDetails {
    pub name: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
}

impl Store {
    /// A user's name and email, or a service ID's name and description.
    pub fn member_details(&self, iam_id: &str) -> MemberDetails {
        if let Some(user) = self.user(iam_id) {
            let name = format!("{} {}", user.firstname, user.lastname)
                .trim()
                .to_string();
            return MemberDetails {
                name: Some(name),
                email: Some(user.email.clone()),
                description: None,
            };
        }
        if let Some(s) = self.service_ids.iter().find(|s| s.iam_id == iam_id) {
            return MemberDetails {
                name: Some(s.name.clone()),
                email: None,
                description: Some(s.description.clone()),
            };
        }
        MemberDetails::default()
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

    pub(super) fn groups_of(&self, iam_id: &str) -> usize {
        self.groups.iter().filter(|g| g.has(iam_id)).count()
    }

    /// The type of `iam_id` if it may be a member named with type `kind`; why not otherwise.
    /// Open question 3, decided by IBM's integration tests (docs/ibm-api.md): any
    /// well-formed iam_id of the right type is accepted, a user the account does not have
    /// included (IBM's tests add `IBMid-<random number>` and get a per-member 200).
    fn member_kind(iam_id: &str, kind: &str) -> Result<MemberKind, ApiError> {
        let Some(expected) = MemberKind::of(iam_id) else {
            return Err(ApiError::new(
                400,
                "invalid_member_id",
                format!(
                    "{iam_id} is not a user (IBMid-), service ID (iam-ServiceId-) or trusted profile (iam-Profile-) id."
                ),
            ));
        };
        if MemberKind::parse(kind) != Some(expected) {
            return Err(ApiError::new(
                400,
                "invalid_member_type",
                format!("Member {iam_id} has type {kind:?}, but its id is of type \"{expected}\"."),
            ));
        }
        Ok(expected)
    }

    /// Adds one member to the group at `pos`; `Ok(member)` also when it already was one.
    fn add_one(
        &mut self,
        actor: &Actor,
        pos: usize,
        iam_id: &str,
        kind: &str,
        now_ms: u64,
    ) -> Result<Member, ApiError> {
        // The type is judged even for an existing member: a wrong type is a bad request,
        // not an idempotent success.
        let kind = Self::member_kind(iam_id, kind)?;
        if let Some(existing) = self.groups.get(pos).and_then(|r| r.member(iam_id)) {
            if existing.membership_type.is_static() {
                return Ok(existing.clone());
            }
            // Added explicitly, a dynamic member becomes static (docs/emulator.md).
            let rec = self.groups.get_mut(pos);
            let member = rec.and_then(|r| r.member_mut(iam_id));
            return match member {
                Some(m) => {
                    m.membership_type = MembershipType::Static;
                    m.created_by_id = Some(actor.iam_id.clone());
                    self.dirty = true;
                    Ok(m.clone())
                }
                None => Err(ApiError::new(404, "not_found", "access group vanished")),
            };
        }
        let count = self.groups_of(iam_id);
        if count >= MAX_GROUPS_PER_MEMBER {
            return Err(ApiError::new(
                400,
                "limit_exceeded",
                format!(
                    "{iam_id} is already in {count} access groups; each iam_id can only be added to {MAX_GROUPS_PER_MEMBER} groups."
                ),
            ));
        }
        let member = Member {
            iam_id: iam_id.to_string(),
            kind,
            created_at: Some(clock::iso(now_ms)),
            created_by_id: Some(actor.iam_id.clone()),
            membership_type: MembershipType::Static,
        };
        let Some(rec) = self.groups.get_mut(pos) else {
            return Err(ApiError::new(404, "not_found", "access group vanished"));
        };
        rec.push(member.clone());
        self.dirty = true;
        Ok(member)
    }

    /// `PUT /v2/groups/{id}/members`: one result per `(iam_id, type)` asked for, in order.
    /// The type is as the request spells it, judged here.
    pub fn add_members(
        &mut self,
        actor: &Actor,
        id: &str,
        members: &[(&str, &str)],
        now_ms: u64,
    ) -> Result<Vec<Result<Member, ApiError>>, ApiError> {
        check_batch(members.len(), MAX_MEMBERS_PER_CALL, "members")?;
        let pos = self.writable_group(id, "adding members")?;
        Ok(members
            .iter()
            .map(|(iam_id, kind)| self.add_one(actor, pos, iam_id, kind, now_ms))
            .collect())
    }

    /// `DELETE /v2/groups/{id}/members/{iam_id}`: a static member only.
    pub fn remove_member(&mut self, id: &str, iam_id: &str) -> Result<(), ApiError> {
        let pos = self.writable_group(id, "removing members")?;
        let membership = self
            .groups
            .get(pos)
            .and_then(|r| r.member(iam_id))
            .map(|m| m.membership_type);
        match membership {
            None => Err(not_a_member(iam_id, id)),
            Some(MembershipType::Dynamic) => Err(dynamic_member(iam_id, id)),
            Some(MembershipType::Static) => {
                if let Some(rec) = self.groups.get_mut(pos) {
                    rec.remove(&[iam_id]);
                }
                self.dirty = true;
                Ok(())
            }
        }
    }

    /// `POST /v2/groups/{id}/members/delete`: what happened to each iam_id, in order; 404
    /// if none was a member at all.
    pub fn remove_members(
        &mut self,
        id: &str,
        iam_ids: &[String],
    ) -> Result<Vec<Removal>, ApiError> {
        check_batch(iam_ids.len(), MAX_MEMBERS_PER_CALL, "members")?;
        let pos = self.writable_group(id, "removing members")?;
        let Some(rec) = self.groups.get_mut(pos) else {
            return Err(ApiError::new(404, "not_found", "access group vanished"));
        };
        let found: Vec<Removal> = iam_ids
            .iter()
            .map(|m| match rec.member(m).map(|m| m.membership_type) {
                None => Removal::NotMember,
                Some(MembershipType::Dynamic) => Removal::Dynamic,
                Some(MembershipType::Static) => Removal::Removed,
            })
            .collect();
        if found.iter().all(|r| *r == Removal::NotMember) {
            return Err(ApiError::new(
                404,
                "members_not_found",
                format!("None of the given members is a member of access group {id}."),
            ));
        }
        let refs: Vec<&str> = iam_ids
            .iter()
            .zip(&found)
            .filter(|(_, r)| **r == Removal::Removed)
            .map(|(m, _)| m.as_str())
            .collect();
        if !refs.is_empty() {
            rec.remove(&refs);
            self.dirty = true;
        }
        Ok(found)
    }

    /// `DELETE /v2/groups/_allgroups/members/{iam_id}`: one result per group it is in
    /// (removed, or refused for a dynamic membership); 404 if it is in none.
    pub fn remove_from_all(&mut self, iam_id: &str) -> Result<Vec<GroupResult>, ApiError> {
        let mut out = Vec::new();
        for rec in &mut self.groups {
            match rec.member(iam_id).map(|m| m.membership_type) {
                None => {}
                Some(MembershipType::Dynamic) => {
                    out.push((
                        rec.group.id.clone(),
                        Err(dynamic_member(iam_id, &rec.group.id)),
                    ));
                }
                Some(MembershipType::Static) => {
                    rec.remove(&[iam_id]);
                    self.dirty = true;
                    out.push((rec.group.id.clone(), Ok(())));
                }
            }
        }
        if out.is_empty() {
            return Err(ApiError::new(
                404,
                "member_not_found",
                format!(
                    "{iam_id} is not a member of any access group in account {}.",
                    self.account_id
                ),
            ));
        }
        Ok(out)
    }

    /// `PUT /v2/groups/_allgroups/members/{iam_id}`: one result per group, in order.
    pub fn add_to_groups(
        &mut self,
        actor: &Actor,
        iam_id: &str,
        kind: &str,
        groups: &[String],
        now_ms: u64,
    ) -> Result<Vec<Result<(), ApiError>>, ApiError> {
        check_batch(groups.len(), MAX_GROUPS_PER_MEMBER, "groups")?;
        Self::member_kind(iam_id, kind)?;
        let mut out = Vec::new();
        for id in groups {
            let result = if id == PUBLIC_ACCESS_ID {
                Err(read_only("adding members"))
            } else if let Some(pos) = self.group_pos.get(id).copied() {
                self.add_one(actor, pos, iam_id, kind, now_ms).map(|_| ())
            } else {
                Err(self.not_found(id))
            };
            out.push(result);
        }
        Ok(out)
    }
}

/// Decision: removing a dynamic member is a 400 `dynamic_member`; it came from the
/// group's rules and would come back at its next login.
pub fn dynamic_member(iam_id: &str, id: &str) -> ApiError {
    ApiError::new(
        400,
        "dynamic_member",
        format!(
            "{iam_id} is a dynamic member of access group {id} (added by its dynamic rules at login); it cannot be removed. Change the group's rules instead."
        ),
    )
}

fn not_a_member(iam_id: &str, id: &str) -> ApiError {
    ApiError::new(
        404,
        "member_not_found",
        format!("{iam_id} is not a member of access group {id}."),
    )
}
