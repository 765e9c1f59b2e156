//! The reconciliation rules of docs/reconciliation.md, as a pure function in named phases.
//!
//! [`plan`] indexes the inputs ([`super::index`]), then runs one method per phase, each
//! deciding one kind of thing and recording it in [`Decisions`]: the custom roles
//! ([`roles`]), the groups, what each group grants ([`access`]) and its dynamic rules
//! ([`dynamic`]), the listed users, the unlisted users, the members the file does not
//! place, the unmanaged groups a departing user leaves and the warnings about who runs
//! the plan ([`others`]). [`Planner::finish`] orders the changes and assembles the
//! [`Plan`]. The execution order of the changes comes from [`super::ChangeKind`], not
//! from the order of the phases.

mod access;
mod dynamic;
mod others;
mod roles;

use std::collections::HashMap;

use crate::model::{
    Date, DesiredState, DesiredUser, Email, GroupName, IamId, LiveState, LiveUser, MemberKind,
    Membership, UnlistedUsers, UserState, is_public_access_name,
};

use super::change::Change;
use super::digest::{config_digest, live_digest};
use super::error::PlanError;
use super::index::{GroupIx, IxVec, LiveGroups, ManagedGroup, ManagedGroups, UserIndex, UserIx};
use super::index::{resolve_members, user_email};
use super::roster::rosters;
use super::types::{
    FORMAT_VERSION, Plan, Summary, UnexpressiblePolicy, Unmanaged, UnmanagedMember,
};
use super::warning::{KeepReason, PENDING_INVITATION_DAYS, Warning, Warnings, Who};

/// Memberships expiring within this many days are warned about.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// What the plan depends on besides the two states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The day the plan is computed for (`--today`, default today in UTC): expiries.
    pub today: Date,
}

/// Computes the plan that makes `live` match `desired` (docs/reconciliation.md).
pub fn plan(
    desired: &DesiredState,
    live: &LiveState,
    options: &Options,
) -> Result<Plan, PlanError> {
    let mut planner = Planner::new(desired, live, options)?;
    planner.run_phases()?;
    Ok(planner.finish())
}

/// The indexed inputs, read-only once built, and what the phases have decided so far.
struct Planner<'a> {
    desired: &'a DesiredState,
    live: &'a LiveState,
    today: Date,
    users: UserIndex<'a>,
    groups: ManagedGroups<'a>,
    decided: Decisions<'a>,
}

/// What the phases decide. Kept apart from the inputs so a phase can walk the index while
/// it records decisions.
struct Decisions<'a> {
    changes: Vec<Change>,
    warnings: Warnings,
    /// Per listed, unexpired email: the managed groups the file puts them in (ascending).
    placed: HashMap<&'a Email, Vec<GroupIx>>,
    /// Account users leaving by this plan (failed invitations replaced, users removed).
    /// Their memberships go with them, so no remove_member is planned for those.
    leaving: IxVec<UserIx, bool>,
    /// The failed invitations replaced, for the rosters.
    replaced: Vec<UserIx>,
    unmanaged_users: usize,
    unmanaged_members: Vec<UnmanagedMember>,
    /// Live policies of groups with `access` left alone (unexpressible, or a duplicate).
    unmanaged_policies: usize,
    /// Of those, the ones the file cannot express, named.
    unexpressible_policies: Vec<UnexpressiblePolicy>,
    /// Members a dynamic rule added, never removed as members.
    dynamic_members: Vec<UnmanagedMember>,
}

impl<'a> Planner<'a> {
    /// Indexes the inputs: users, and the managed groups matched to the live ones.
    fn new(
        desired: &'a DesiredState,
        live: &'a LiveState,
        options: &Options,
    ) -> Result<Self, PlanError> {
        let users = UserIndex::new(&live.users);
        let mut warnings = Warnings::default();
        let groups = managed_groups(desired, live, &users, &mut warnings)?;
        let decided = Decisions {
            changes: Vec::new(),
            warnings,
            placed: HashMap::with_capacity(desired.users.len()),
            leaving: IxVec::filled(false, users.len()),
            replaced: Vec::new(),
            unmanaged_users: 0,
            unmanaged_members: Vec::new(),
            unmanaged_policies: 0,
            unexpressible_policies: Vec::new(),
            dynamic_members: Vec::new(),
        };
        Ok(Planner {
            desired,
            live,
            today: options.today,
            users,
            groups,
            decided,
        })
    }

    /// Every phase, in the order their decisions depend on each other (the order also
    /// sets the order of the warnings): custom roles first (they depend on nothing), the
    /// groups, what the groups grant (policies name roles and groups) and their rules,
    /// then the people; last, what depends on all of it (the groups a departing user
    /// leaves, what the identity running orgsync loses or cannot do).
    fn run_phases(&mut self) -> Result<(), PlanError> {
        self.plan_roles()?;
        self.plan_groups();
        self.plan_access()?;
        self.plan_rules()?;
        self.plan_listed_users()?;
        self.plan_unlisted_users();
        self.plan_member_removals();
        self.plan_other_groups();
        self.warn_caller_access();
        self.warn_caller_kind();
        Ok(())
    }

    /// Groups: create the missing ones, update differing descriptions.
    fn plan_groups(&mut self) {
        for (_, group) in self.groups.iter() {
            let change = match group.live {
                None => Change::CreateGroup {
                    group: group.name.clone(),
                    description: group.description.clone(),
                },
                Some(lg) => match &group.description {
                    Some(wanted) if *wanted != lg.description => Change::UpdateGroup {
                        group: group.name.clone(),
                        group_id: lg.id.clone(),
                        description: wanted.clone(),
                        old_description: lg.description.clone(),
                    },
                    _ => continue,
                },
            };
            self.decided.changes.push(change);
        }
    }

    /// Listed users: invite the absent, replace failed invitations, add missing
    /// memberships; warn about expiries and troubled states.
    fn plan_listed_users(&mut self) -> Result<(), PlanError> {
        let desired = self.desired;
        for (email, user) in &desired.users {
            let groups = self.placement(email, user)?;
            let present = self.users.standing(email);
            if !self.is_current(email, user, present.is_some()) {
                continue;
            }
            match present {
                None => self.invite(email, groups, None),
                Some(u) => self.plan_present_user(email, u, groups),
            }
        }
        Ok(())
    }

    /// The managed groups (ascending) the file puts the user in.
    fn placement(&self, email: &Email, user: &DesiredUser) -> Result<Vec<GroupIx>, PlanError> {
        let mut groups = Vec::with_capacity(user.groups.len());
        for name in &user.groups {
            let g = self
                .groups
                .find(name)
                .ok_or_else(|| PlanError::UndeclaredGroup {
                    email: email.clone(),
                    group: name.clone(),
                })?;
            groups.push(g);
        }
        groups.sort_unstable();
        groups.dedup();
        Ok(groups)
    }

    /// Whether the entry still holds (it has not expired), warning when it expired or is
    /// about to.
    fn is_current(&mut self, email: &Email, user: &DesiredUser, present: bool) -> bool {
        let Some(expires) = user.expires else {
            return true;
        };
        let days_left = self.today.days_until(expires);
        let warning = if days_left <= 0 {
            present.then(|| Warning::EntryExpired {
                email: email.clone(),
                expires,
            })
        } else {
            (days_left <= EXPIRY_WARNING_DAYS).then(|| Warning::EntryExpiring {
                email: email.clone(),
                expires,
                days_left,
            })
        };
        if let Some(warning) = warning {
            self.decided.warnings.push(warning);
        }
        days_left > 0
    }

    /// A listed user the account has: replace a failed invitation, or add what is missing.
    fn plan_present_user(&mut self, email: &'a Email, u: UserIx, groups: Vec<GroupIx>) {
        let live_user = self.users.get(u);
        if live_user.state == UserState::ErrorWhileProcessing {
            // Re-inviting first removes the failed entry, with every membership it has, in
            // managed groups or not. That is a removal, so protected users and the identity
            // orgsync runs as are left as they are (they keep their memberships below).
            match self.keep_reason(Some(email), &live_user.iam_id) {
                Some(why) => self.decided.warnings.push(Warning::FailedInvitationKept {
                    who: who(Some(email), &live_user.iam_id),
                    why,
                }),
                None => {
                    self.decided.leaving[u] = true;
                    self.decided.replaced.push(u);
                    self.invite(email, groups, Some(live_user.iam_id.clone()));
                    return;
                }
            }
        }
        for &g in &groups {
            if !self.groups.contains(u, g) {
                let group = &self.groups[g];
                self.decided.changes.push(Change::AddMember {
                    group: group.name.clone(),
                    group_id: group.live.map(|lg| lg.id.clone()),
                    email: email.clone(),
                    iam_id: live_user.iam_id.clone(),
                });
            }
        }
        if let Some(warning) = state_warning(live_user, email, self.today) {
            self.decided.warnings.push(warning);
        }
        self.decided.placed.insert(email, groups);
    }

    fn invite(&mut self, email: &'a Email, groups: Vec<GroupIx>, replaces: Option<IamId>) {
        self.decided.changes.push(Change::InviteUser {
            email: email.clone(),
            groups: self.groups.names(&groups),
            replaces_iam_id: replaces,
            other_groups: Vec::new(),
        });
        self.decided.placed.insert(email, groups);
    }

    /// Account users the file does not list (or whose entry expired): removed under
    /// `policy.unlisted_users: remove` unless kept, counted as unmanaged otherwise.
    fn plan_unlisted_users(&mut self) {
        let remove = self.desired.policy.unlisted_users == UnlistedUsers::Remove;
        for u in self.users.ixs() {
            let user = self.users.get(u);
            if self.decided.placed.contains_key(&user.email) {
                continue;
            }
            if remove {
                match self.keep_reason(user_email(user), &user.iam_id) {
                    Some(why) => self.decided.warnings.push(Warning::UnlistedUserKept {
                        who: who(user_email(user), &user.iam_id),
                        why,
                    }),
                    None => {
                        self.decided.leaving[u] = true;
                        self.decided.changes.push(Change::RemoveUser {
                            email: user.email.clone(),
                            iam_id: user.iam_id.clone(),
                            groups: self.groups.names(self.groups.of_user(u)),
                            other_groups: Vec::new(),
                        });
                        continue;
                    }
                }
            }
            self.decided.unmanaged_users += 1;
        }
    }

    /// Members of managed groups the file does not place there: user-type members are
    /// removed unless kept; other kinds are left alone and reported.
    fn plan_member_removals(&mut self) {
        for (g, group) in self.groups.iter() {
            let Some(lg) = group.live else { continue };
            for member in &group.members {
                let (member, user) = (member.member, member.user);
                if member.kind != MemberKind::User {
                    self.decided.unmanaged_members.push(UnmanagedMember {
                        group: group.name.clone(),
                        iam_id: member.iam_id.clone(),
                        kind: member.kind.as_str().to_string(),
                    });
                    continue;
                }
                // A rule put them there at login; no membership call can take them out.
                if member.membership == Membership::Dynamic {
                    self.decided.dynamic_members.push(UnmanagedMember {
                        group: group.name.clone(),
                        iam_id: member.iam_id.clone(),
                        kind: member.kind.as_str().to_string(),
                    });
                    continue;
                }
                let email = match user {
                    Some(u) if self.decided.leaving[u] => continue,
                    Some(u) => user_email(self.users.get(u)),
                    None => None,
                };
                if self.is_placed(email, g) {
                    continue;
                }
                if let Some(why) = self.keep_reason(email, &member.iam_id) {
                    self.decided.warnings.push(Warning::MemberKept {
                        who: who(email, &member.iam_id),
                        why,
                        group: group.name.clone(),
                    });
                    continue;
                }
                self.decided.changes.push(Change::RemoveMember {
                    group: group.name.clone(),
                    group_id: lg.id.clone(),
                    email: email.cloned(),
                    iam_id: member.iam_id.clone(),
                });
            }
        }
    }

    /// Whether the file places this email in group `g`.
    fn is_placed(&self, email: Option<&Email>, g: GroupIx) -> bool {
        email
            .and_then(|e| self.decided.placed.get(e))
            .is_some_and(|groups| groups.binary_search(&g).is_ok())
    }

    /// Why a user who would be removed stays: the identity orgsync runs as, or protected.
    fn keep_reason(&self, email: Option<&Email>, iam_id: &IamId) -> Option<KeepReason> {
        if *iam_id == self.live.caller {
            Some(KeepReason::Caller)
        } else if email.is_some_and(|e| self.desired.policy.protected.contains(e)) {
            Some(KeepReason::Protected)
        } else {
            None
        }
    }

    /// The changes in execution order, and the plan around them.
    fn finish(self) -> Plan {
        let Planner {
            desired,
            live,
            users,
            groups,
            decided,
            ..
        } = self;
        let mut changes = decided.changes;
        changes.sort_by_cached_key(sort_key);
        changes.dedup();
        let mut unmanaged_members = decided.unmanaged_members;
        unmanaged_members.sort();
        unmanaged_members.dedup();
        let mut dynamic_members = decided.dynamic_members;
        dynamic_members.sort();
        dynamic_members.dedup();
        let rosters = rosters(&groups, &users, &decided.replaced, &changes);
        Plan {
            format_version: FORMAT_VERSION,
            account_id: desired.account_id.clone(),
            config_digest: config_digest(desired),
            live_digest: live_digest(live),
            summary: Summary::of(&changes),
            changes,
            warnings: decided.warnings.into_vec(),
            unmanaged: Unmanaged {
                users: decided.unmanaged_users,
                members: unmanaged_members,
                policies: decided.unmanaged_policies,
                unexpressible_policies: decided.unexpressible_policies,
                dynamic_members,
            },
            rosters,
        }
    }
}

fn who(email: Option<&Email>, iam_id: &IamId) -> Who {
    Who {
        email: email.cloned(),
        iam_id: iam_id.clone(),
    }
}

/// What a listed user's live state is worth a warning about, if anything.
fn state_warning(user: &LiveUser, email: &Email, today: Date) -> Option<Warning> {
    match &user.state {
        // A failed invitation is re-invited, which is warning enough (or, for the caller,
        // warned about where that is decided).
        UserState::Active | UserState::Processing | UserState::ErrorWhileProcessing => None,
        UserState::Pending => {
            let since = user.added_on?;
            let days = since.days_until(today);
            (days > PENDING_INVITATION_DAYS).then(|| Warning::StaleInvitation {
                email: email.clone(),
                since,
                days,
            })
        }
        UserState::Suspended => Some(Warning::Suspended {
            email: email.clone(),
        }),
        other => Some(Warning::UnusualState {
            email: email.clone(),
            state: other.clone(),
        }),
    }
}

/// The managed groups in name order, matched to the live ones ignoring case; warns about
/// several live groups of one declared name.
fn managed_groups<'a>(
    desired: &'a DesiredState,
    live: &'a LiveState,
    users: &UserIndex<'a>,
    warnings: &mut Warnings,
) -> Result<ManagedGroups<'a>, PlanError> {
    let live_groups = LiveGroups::new(&live.groups);
    let mut managed = Vec::with_capacity(desired.groups.len());
    let mut missing = Vec::new();
    for (name, declared) in &desired.groups {
        if is_public_access_name(name.as_str()) {
            continue; // config refuses it; never manage it even if handed one
        }
        let key = name.key();
        if let Some(same_name) = live_groups.named(&key)
            && same_name.len() > 1
        {
            warnings.push(Warning::DuplicateGroups {
                name: name.clone(),
                ids: same_name.keys().map(|id| (*id).clone()).collect(),
            });
        }
        let live_group = live_groups.standing(&key);
        let members = match live_group {
            None => {
                missing.push(name.clone());
                Vec::new()
            }
            Some(lg) => resolve_members(lg, users).ok_or_else(|| PlanError::MembersNotRead {
                group: name.clone(),
                group_id: lg.id.clone(),
            })?,
        };
        managed.push(ManagedGroup {
            name: name.clone(),
            key,
            description: declared.description.clone(),
            access: declared.access.as_deref(),
            rules: declared.rules.as_deref(),
            live: live_group,
            members,
        });
    }
    if !desired.policy.create_groups && !missing.is_empty() {
        return Err(PlanError::MissingGroups { groups: missing });
    }
    Ok(ManagedGroups::new(managed, users))
}

type SortKey = (
    super::change::ChangeKind,
    String,
    String,
    bool,
    String,
    String,
);

/// Kind, then group name (case-insensitively, then as spelled), then email (known emails
/// first), then iam_id — or, for roles, policies and rules, what names them (the role,
/// the target, the rule) and then their id. Owned, so the sort computes it once per
/// change.
fn sort_key(change: &Change) -> SortKey {
    let group = change.group();
    let named = |name: String, id: &str| -> SortKey {
        (
            change.kind(),
            group.map(GroupName::key).unwrap_or_default(),
            group.map(|g| g.as_str().to_string()).unwrap_or_default(),
            false,
            name,
            id.to_string(),
        )
    };
    let (email, iam): (Option<&Email>, &str) = match change {
        Change::CreateGroup { .. } | Change::UpdateGroup { .. } => (None, ""),
        Change::InviteUser { email, .. } => (Some(email), ""),
        Change::AddMember { email, iam_id, .. } | Change::RemoveUser { email, iam_id, .. } => {
            (Some(email), iam_id.as_str())
        }
        Change::RemoveMember { email, iam_id, .. } => (email.as_ref(), iam_id.as_str()),
        Change::CreateRole { role, service, .. } | Change::UpdateRole { role, service, .. } => {
            return named(role.to_string(), service.as_str());
        }
        Change::CreatePolicy { target, .. } => return named(target.to_string(), ""),
        Change::UpdatePolicy {
            target, policy_id, ..
        }
        | Change::RemovePolicy {
            target, policy_id, ..
        } => return named(target.to_string(), policy_id.as_str()),
        Change::CreateRule { rule, .. } => return named(rule.to_lowercase(), ""),
        Change::UpdateRule { rule, rule_id, .. } | Change::RemoveRule { rule, rule_id, .. } => {
            return named(rule.to_lowercase(), rule_id.as_str());
        }
    };
    (
        change.kind(),
        group.map(GroupName::key).unwrap_or_default(),
        group.map(|g| g.as_str().to_string()).unwrap_or_default(),
        email.is_none(),
        email.map(|e| e.as_str().to_string()).unwrap_or_default(),
        iam.to_string(),
    )
}
