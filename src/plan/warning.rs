//! What a plan warns about, as data: one variant per kind, each holding what it is about.
//!
//! Renderers show a warning by its `Display`; tests and future consumers match the
//! variant. A saved plan (`plan --out`, format_version 1) carries warnings as the text a
//! reviewer read (docs/cli.md), and a plan read back from such a file holds them as that
//! text, in [`Warning::Saved`]: see its documentation for why.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{
    AccessGroupId, Date, Email, GroupName, IamId, MAX_RULES_PER_GROUP, PolicyId, RoleName,
    UserState,
};

use super::change::Target;

/// IBM invitations expire after this many days.
pub const PENDING_INVITATION_DAYS: i64 = 30;

/// One warning of a plan (docs/reconciliation.md lists when each is given).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Warning {
    /// The account has several groups with a declared name; orgsync manages the first.
    DuplicateGroups {
        name: GroupName,
        /// Every id with that name, ascending; the first is managed.
        ids: Vec<AccessGroupId>,
    },
    /// A listed user's `expires` date has passed while they are still in the account.
    EntryExpired { email: Email, expires: Date },
    /// A listed user's `expires` date is near ([`super::EXPIRY_WARNING_DAYS`]).
    EntryExpiring {
        email: Email,
        expires: Date,
        days_left: i64,
    },
    /// A failed invitation that is not replaced, because replacing it is a removal.
    FailedInvitationKept { who: Who, why: KeepReason },
    /// An unlisted user that `policy.unlisted_users: remove` would remove, kept.
    UnlistedUserKept { who: Who, why: KeepReason },
    /// A member of a managed group the file does not place there, kept.
    MemberKept {
        who: Who,
        why: KeepReason,
        group: GroupName,
    },
    /// A listed user whose invitation is older than IBM keeps invitations.
    StaleInvitation {
        email: Email,
        since: Date,
        days: i64,
    },
    /// A listed user who is `SUSPENDED` in the account.
    Suspended { email: Email },
    /// A listed user in a state such as `IAMID_INVALID`, in which access may not work.
    UnusualState { email: Email, state: UserState },
    /// Several live policies of one group with the same target (IBM forbids it, but the
    /// plan must not depend on which comes first): the smallest id is managed, the others
    /// are left alone.
    DuplicatePolicies {
        group: GroupName,
        target: Target,
        managed: PolicyId,
        /// Ascending.
        others: Vec<PolicyId>,
    },
    /// The plan reduces the access of a managed group the identity orgsync runs as is a
    /// member of: the run may lock itself out halfway.
    CallerAccessReduced {
        group: GroupName,
        caller: IamId,
        /// In the plan's order.
        losses: Vec<AccessLoss>,
    },
    /// One rule's `CONTAINS` value is part of another's, on the same realm and claim, in
    /// another group: whoever the longer value admits, the shorter admits too (IBM's own
    /// warning: `ml` also matches `mlReader`).
    ContainsOverlap {
        realm: String,
        claim: String,
        /// The rule with the shorter value: it also admits the other's users.
        broad: RuleRef,
        narrow: RuleRef,
    },
    /// Apply creates a group's new rules before it removes the old ones, and for a while
    /// the group would hold more rules than IBM allows.
    RuleLimitDuringApply {
        group: GroupName,
        live: usize,
        creates: usize,
        removes: usize,
    },
    /// Users the plan takes out of the account (or whose failed invitation it replaces)
    /// whose groups were not read: the plan cannot name the unmanaged groups they leave.
    OtherGroupsNotRead {
        /// Sorted by iam_id.
        who: Vec<Who>,
    },
    /// orgsync runs as a service ID, whose key IBM never lets invite or remove users.
    CallerCannotManageUsers {
        caller: IamId,
        invites: usize,
        removals: usize,
    },
    /// A warning read back from a saved plan: the text the reviewer read.
    ///
    /// Not parsed back into the variants above: the text is prose written for people,
    /// whose wording may improve from one release to the next while format_version 1 stays
    /// (a plan saved by an older orgsync must still be read); nothing decides on a saved
    /// plan's warnings (`apply PLANFILE` only shows them, and decides on a fresh plan); and
    /// a parser of our own prose would be a second, fragile grammar for no reader.
    Saved(String),
}

/// Who a kept removal is about: the email when User Management knows one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Who {
    pub email: Option<Email>,
    pub iam_id: IamId,
}

/// One thing a group loses by a plan, for [`Warning::CallerAccessReduced`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccessLoss {
    /// A policy removed, with the roles it granted.
    Revoked {
        target: Target,
        roles: Vec<RoleName>,
    },
    /// Roles a policy stops granting.
    Dropped {
        target: Target,
        roles: Vec<RoleName>,
    },
    /// A dynamic rule removed (the caller is a dynamic member).
    Rule { rule: String },
}

/// A rule of the file, as [`Warning::ContainsOverlap`] names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleRef {
    pub group: GroupName,
    pub rule: String,
    pub value: String,
}

/// Why a user who would be removed stays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeepReason {
    /// The identity orgsync runs as (the iam_id of its token).
    Caller,
    /// An email under `policy.protected`.
    Protected,
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeepReason::Caller => "the identity orgsync runs as",
            KeepReason::Protected => "protected by policy.protected",
        })
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.email {
            Some(email) => write!(f, "{email} ({})", self.iam_id),
            None => write!(f, "{}", self.iam_id),
        }
    }
}

impl fmt::Display for AccessLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessLoss::Revoked { target, roles } => {
                write!(f, "revokes {} on {target}", join(roles))
            }
            AccessLoss::Dropped { target, roles } => {
                write!(f, "drops {} on {target}", join(roles))
            }
            AccessLoss::Rule { rule } => write!(f, "removes dynamic rule {rule:?}"),
        }
    }
}

fn join(roles: &[RoleName]) -> String {
    roles
        .iter()
        .map(RoleName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// At most this many people are named in one warning; the rest are counted.
const NAMED_AT_MOST: usize = 10;

fn some_of(who: &[Who]) -> String {
    let mut text = who
        .iter()
        .take(NAMED_AT_MOST)
        .map(Who::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if who.len() > NAMED_AT_MOST {
        text.push_str(&format!(" and {} more", who.len() - NAMED_AT_MOST));
    }
    text
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::DuplicateGroups { name, ids } => write!(
                f,
                "the account has {} access groups named `{name}` ({}); orgsync manages only \
                 the first; rename or delete the others in the console",
                ids.len(),
                ids.iter()
                    .map(AccessGroupId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Warning::EntryExpired { email, expires } => write!(
                f,
                "{email}: the entry expired on {expires}, so orgsync treats them as \
                 unlisted; delete the entry from the file once they are gone"
            ),
            Warning::EntryExpiring {
                email,
                expires,
                days_left,
            } => write!(
                f,
                "{email}: the entry expires on {expires} (in {days_left} day{}); from then on \
                 orgsync treats them as unlisted",
                if *days_left == 1 { "" } else { "s" }
            ),
            Warning::FailedInvitationKept { who, why } => write!(
                f,
                "{who} is in state ERROR_WHILE_PROCESSING but is {why}: not re-inviting, which \
                 would remove the failed entry first; fix the user in Manage → Access (IAM) \
                 → Users"
            ),
            Warning::UnlistedUserKept { who, why } => write!(
                f,
                "{who}: {why}: not removing them from the account, although the file does not \
                 list them"
            ),
            Warning::MemberKept { who, why, group } => write!(
                f,
                "{who}: {why}: not removing them from `{group}`, where the file does not place them"
            ),
            Warning::StaleInvitation { email, since, days } => write!(
                f,
                "{email}: the invitation has been pending since {since} ({days} days) and \
                 IBM invitations expire after {PENDING_INVITATION_DAYS} days; ask them to \
                 accept it, or remove the user in the console so orgsync invites them \
                 afresh"
            ),
            Warning::Suspended { email } => write!(
                f,
                "{email} is SUSPENDED in the account: orgsync manages their groups, but they cannot \
                 use them until an administrator reactivates the user (Manage → Access (IAM) → Users)"
            ),
            Warning::UnusualState { email, state } => write!(
                f,
                "{email} is in state {state} in the account: their access may not work; check the \
                 user in Manage → Access (IAM) → Users"
            ),
            Warning::DuplicatePolicies {
                group,
                target,
                managed,
                others,
            } => write!(
                f,
                "`{group}` has {} access policies on {target} ({managed}, {}); orgsync manages \
                 only {managed} and leaves the others alone; delete them in the console \
                 (Manage → Access (IAM) → Access groups → {group} → Access)",
                others.len() + 1,
                others
                    .iter()
                    .map(PolicyId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Warning::CallerAccessReduced {
                group,
                caller,
                losses,
            } => write!(
                f,
                "orgsync runs as {caller}, a member of `{group}`, and this plan reduces what \
                 `{group}` grants: {}; if orgsync needs that access to finish the apply, it may \
                 lock itself out halfway, so grant it to orgsync another way first",
                losses
                    .iter()
                    .map(AccessLoss::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Warning::ContainsOverlap {
                realm,
                claim,
                broad,
                narrow,
            } => write!(
                f,
                "rule {:?} of `{}` ({claim} CONTAINS {:?}) also admits everyone rule {:?} of \
                 `{}` admits ({claim} CONTAINS {:?}), on realm {realm}: {:?} is part of {:?}; \
                 use values that are not part of one another",
                broad.rule,
                broad.group,
                broad.value,
                narrow.rule,
                narrow.group,
                narrow.value,
                broad.value,
                narrow.value
            ),
            Warning::RuleLimitDuringApply {
                group,
                live,
                creates,
                removes,
            } => write!(
                f,
                "`{group}` has {} and this plan creates {} before it removes {}; IBM allows \
                 {MAX_RULES_PER_GROUP} a group, so some creates may fail: run apply again once \
                 the removals are done",
                count(*live, "dynamic rule", "dynamic rules"),
                count(*creates, "rule", "rules"),
                removes
            ),
            Warning::OtherGroupsNotRead { who } => write!(
                f,
                "the access groups of {} this plan takes out of the account (or whose failed \
                 invitation it replaces) were not read, so the plan cannot name the groups \
                 orgsync does not manage that they leave: {}; check them in Manage → Access \
                 (IAM) → Users before you apply",
                count(who.len(), "user", "users"),
                some_of(who)
            ),
            Warning::CallerCannotManageUsers {
                caller,
                invites,
                removals,
            } => {
                let mut what = Vec::new();
                if *invites > 0 {
                    what.push(count(*invites, "invitation", "invitations"));
                }
                if *removals > 0 {
                    what.push(count(
                        *removals,
                        "removal from the account",
                        "removals from the account",
                    ));
                }
                write!(
                    f,
                    "orgsync runs as service ID {caller}, and IBM lets only a user's API key \
                     invite or remove users: apply will refuse this plan's {}; run it with the \
                     API key of a user who may manage users",
                    what.join(" and ")
                )
            }
            Warning::Saved(text) => f.write_str(text),
        }
    }
}

/// As its text: the saved-plan format (docs/cli.md) carries warnings as strings.
impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Always as [`Warning::Saved`]: see there.
impl<'de> Deserialize<'de> for Warning {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Warning::Saved)
    }
}

/// Warnings in the order found, each once.
#[derive(Default)]
pub(super) struct Warnings {
    seen: HashSet<Warning>,
    list: Vec<Warning>,
}

impl Warnings {
    pub(super) fn push(&mut self, warning: Warning) {
        if !self.seen.contains(&warning) {
            self.seen.insert(warning.clone());
            self.list.push(warning);
        }
    }

    pub(super) fn into_vec(self) -> Vec<Warning> {
        self.list
    }
}
