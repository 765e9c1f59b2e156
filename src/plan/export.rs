//! What a config file written from a live account says (`orgsync export`, docs/cli.md):
//! the decision, as plain data; `config::export` only writes it as YAML.
//!
//! An administrator adopting orgsync on an existing account should be able to trust that
//! the file they start from changes nothing. So the contents are decided from the
//! planner's own index of the account (`plan::index`): the same deduplication of users,
//! the same entry standing for an email, the same live group for a name, the same
//! memberships. Every managed group is written with its live description, every user of
//! the account with their groups among the exported ones (users in none get
//! `groups: []`, so the file lists the whole account).
//!
//! What the file format cannot express becomes comments, never entries: a failed
//! invitation (`ERROR_WHILE_PROCESSING`: an entry would be re-invited), a group member
//! User Management does not know (no email to list), a user whose email would not
//! validate, a second account entry of one email. [`Contents::unlistable`] names them,
//! because the planner proposes removing their memberships in exported groups — the file
//! is authoritative for those groups' members — and the command says so before anyone
//! applies. What the format accepts is `config`'s rule, handed in as a [`FileFormat`].
//!
//! A group whose policies were read (acquisition with `everything_policies_name`) is
//! written with `access`: one entry per policy, the instance by name when that name means
//! only it, else by GUID, the resource group likewise, roles by the names the planner
//! resolves back to the same CRNs; the custom roles those policies grant are declared
//! under `roles:`. A group whose rules were read is written with `rules`. What the file
//! cannot express becomes comments: a policy with conditions or other attributes, a
//! second policy of one target (both left alone by the planner, so the file may stay
//! silent about them). Where writing part of a group's grants would make the planner
//! remove the rest (a role the account has no name for, an unnamed rule), the group's
//! `access` (or `rules`) is left out altogether, so the file does not govern them, and a
//! comment says why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::model::{
    AccessGroupId, DesiredAccess, DesiredRole, DesiredRule, Email, GroupName, IamId, InstanceRef,
    LiveGroup, LiveMember, LiveState, MAX_RULES_PER_GROUP, MemberKind, Membership, PolicyId,
    PolicyTarget, ResourceGroupRef, RoleCrn, RoleKind, RoleName, UserState, is_public_access,
    is_public_access_name,
};

use super::index::{
    GroupIx, IxVec, LiveGroups, ManagedGroup, ManagedGroups, Member, UserIndex, UserIx, live_rules,
    resolve_members, user_email,
};
use super::resolve::{AccessIndex, Found, LivePolicies};

/// What the config file format accepts, as `config` validates it; passed in so that this
/// module stays free of `config` (docs/design.md: the dependency rule).
#[derive(Clone, Copy, Debug)]
pub struct FileFormat {
    pub max_group_name_chars: usize,
    pub max_description_chars: usize,
    /// Why a group name would not validate (odd spaces, invisible characters), or `None`.
    pub group_name_problem: fn(&str) -> Option<&'static str>,
    /// Why an email would not validate (as validation words it), or `None`.
    pub email_problem: fn(&str) -> Option<&'static str>,
    /// Why a custom role could not be declared under `roles:`, or `None`.
    pub role_problem: fn(&DesiredRole) -> Option<String>,
    /// Why a dynamic rule could not be written under `rules:`, or `None`.
    pub rule_problem: fn(&DesiredRule) -> Option<String>,
}

/// Everything a file written from the account holds, in the order it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contents {
    /// Under `groups:`, in name order.
    pub groups: Vec<Group>,
    /// Chosen groups the file format cannot name, written as comments.
    pub skipped: Vec<SkippedGroup>,
    /// Under `users:`, in email order.
    pub users: Vec<User>,
    /// Account users and group members written only as comments, sorted.
    pub unlistable: Vec<Unlistable>,
    /// Under `roles:`: the custom roles the written policies grant, by name.
    pub roles: Vec<DesiredRole>,
    /// Custom roles the written policies grant that the format cannot declare: granted by
    /// name, left alone, and said in a comment.
    pub undeclared_roles: Vec<UndeclaredRole>,
}

/// A custom role the file grants but does not declare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UndeclaredRole {
    pub name: RoleName,
    /// As the format's check words it.
    pub why: String,
}

/// What a group's `access` comments say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessNote {
    /// A policy the file cannot express; orgsync leaves it alone.
    Unexpressible { policy: PolicyId, reason: String },
    /// A second policy of one target (IBM forbids them); orgsync leaves it alone.
    Duplicate { policy: PolicyId, managed: PolicyId },
    /// A policy granting a role the account has no name for: `access` is left out.
    UnnamedRole { policy: PolicyId, role: RoleCrn },
    /// A policy without roles, or without a service or resource group: `access` is left
    /// out.
    Unwritable { policy: PolicyId },
}

/// What a group's `rules` comments say; any of them leaves `rules` out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleNote {
    /// A rule without a name (the file names every rule).
    Unnamed { rule: crate::model::RuleId },
    /// Two rules whose names differ only in case (the file's names are unique so).
    SameName { name: String },
    /// The format refuses the rule (the reason as its check words it).
    Refused { name: String, why: String },
    /// More rules than IBM allows a group.
    TooMany { rules: usize },
}

/// One exported group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// As the account spells it.
    pub name: GroupName,
    pub description: Description,
    /// Service IDs, profiles and other non-user members (never changed by orgsync), sorted.
    pub unmanaged: Vec<LiveMember>,
    /// User-type members User Management does not know, sorted (dynamic ones excluded).
    pub unknown: Vec<IamId>,
    /// Members a dynamic rule added at login (never changed by orgsync), sorted.
    pub dynamic: Vec<IamId>,
    /// `access`, in target order; `None`: not written (policies not read, or see
    /// `access_notes`).
    pub access: Option<Vec<DesiredAccess>>,
    pub access_notes: Vec<AccessNote>,
    /// `rules`, in id order; `None`: not written (rules not read, or see `rule_notes`).
    pub rules: Option<Vec<DesiredRule>>,
    pub rule_notes: Vec<RuleNote>,
}

/// What becomes of a group's live description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Description {
    /// None in the account: the file declares none, and the planner leaves it alone.
    Empty,
    /// Written, so the file governs it.
    Written(String),
    /// Longer than the format accepts: left out, so orgsync leaves it alone.
    TooLong,
}

/// A chosen group the file cannot name: its name is empty or too long for the format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedGroup {
    pub name: GroupName,
    pub id: AccessGroupId,
}

/// One entry under `users:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub email: Email,
    /// The live state, noted beside the entry when it is not `ACTIVE`.
    pub state: UserState,
    /// The exported groups the user is a member of, in name order.
    pub groups: Vec<GroupName>,
}

/// An identity the file cannot list as an entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unlistable {
    pub iam_id: IamId,
    /// As User Management reports it (normalized); `None` when it does not know the iam_id
    /// or gave no email.
    pub email: Option<Email>,
    pub reason: UnlistableReason,
    /// Exported groups it is a member of (that membership the plan proposes removing).
    pub groups: Vec<GroupName>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnlistableReason {
    /// `ERROR_WHILE_PROCESSING`: listing it would make the plan re-invite it.
    FailedInvitation,
    /// A user-type group member that User Management does not list.
    UnknownToUserManagement,
    /// The email would not pass validation (the problem, as validation words it).
    InvalidEmail(&'static str),
    /// A second account entry with the same email; the other entry is listed.
    DuplicateEmail,
}

impl fmt::Display for UnlistableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnlistableReason::FailedInvitation => f.write_str(
                "its invitation failed (ERROR_WHILE_PROCESSING); to invite it again, add it under \
                 `users:` and run `orgsync apply`",
            ),
            UnlistableReason::UnknownToUserManagement => f.write_str(
                "a user-type member that User Management does not list in the account, so it has \
                 no email to list it by",
            ),
            UnlistableReason::InvalidEmail(problem) => {
                write!(f, "its email is not a valid address ({problem})")
            }
            UnlistableReason::DuplicateEmail => f.write_str(
                "a second account entry with the same email as a listed user; remove one of the \
                 two in Manage → Access (IAM) → Users",
            ),
        }
    }
}

impl Contents {
    /// Entries in at least one exported group.
    pub fn users_in_groups(&self) -> usize {
        self.users.iter().filter(|u| !u.groups.is_empty()).count()
    }

    /// Service IDs, trusted profiles and other non-user members of exported groups.
    pub fn unmanaged_members(&self) -> usize {
        self.groups.iter().map(|g| g.unmanaged.len()).sum()
    }

    /// The iam_ids whose memberships in exported groups the file cannot express: planning
    /// the file proposes removing exactly those memberships, and nothing else.
    pub fn unlistable_members(&self) -> BTreeSet<&IamId> {
        self.unlistable
            .iter()
            .filter(|u| !u.groups.is_empty())
            .map(|u| &u.iam_id)
            .collect()
    }
}

/// Decides the file for `live` with `chosen` as the managed groups (names as
/// [`choose_groups`] returned them; their members must have been read). Pure.
pub fn contents(live: &LiveState, chosen: &[GroupName], format: &FileFormat) -> Contents {
    let users = UserIndex::new(&live.users);
    let (managed, skipped) = exported_groups(live, chosen, &users, format);
    let groups = ManagedGroups::new(managed, &users);
    let mut decided = decide_users(&users, &groups, format);
    decided.unlistable.extend(unknown_members(&groups));
    decided.unlistable.sort();
    let none = BTreeMap::new();
    let index = AccessIndex::new(&none, live);
    let mut granted: BTreeMap<&RoleName, &crate::model::LiveRole> = BTreeMap::new();
    let written = groups
        .iter()
        .map(|(_, group)| {
            let mut written = written_group(group, format);
            if let Some(lg) = group.live {
                let (access, notes, custom) = written_access(&index, lg);
                if access.is_some() {
                    granted.extend(custom.into_iter().map(|r| (&r.name, r)));
                }
                (written.access, written.access_notes) = (access, notes);
                (written.rules, written.rule_notes) = written_rules(lg, format);
            }
            written
        })
        .collect();
    let (roles, undeclared_roles) = declared_roles(granted.into_values(), format);
    Contents {
        groups: written,
        skipped,
        users: decided.users,
        unlistable: decided.unlistable,
        roles,
        undeclared_roles,
    }
}

/// A group's policies as `access` entries, the notes about them, and the custom roles
/// the entries grant. `None` when the policies were not read or cannot all be written.
fn written_access<'a>(
    index: &AccessIndex<'a>,
    group: &'a LiveGroup,
) -> (
    Option<Vec<DesiredAccess>>,
    Vec<AccessNote>,
    Vec<&'a crate::model::LiveRole>,
) {
    let Some(live) = LivePolicies::of(group) else {
        return (None, Vec::new(), Vec::new());
    };
    let mut notes: Vec<AccessNote> = (live.unexpressible.iter())
        .map(|(policy, reason)| AccessNote::Unexpressible {
            policy: (*policy).clone(),
            reason: reason.to_string(),
        })
        .collect();
    for (_, managed, others) in &live.duplicates {
        notes.extend(others.iter().map(|policy| AccessNote::Duplicate {
            policy: policy.clone(),
            managed: (*managed).clone(),
        }));
    }
    let mut entries = Vec::new();
    let mut custom = Vec::new();
    let mut complete = true;
    for (target, policy) in &live.by_target {
        match written_entry(index, target, &policy.roles) {
            Ok((entry, roles)) => {
                entries.push(entry);
                custom.extend(roles);
            }
            Err(None) => {
                complete = false;
                notes.push(AccessNote::Unwritable {
                    policy: policy.id.clone(),
                });
            }
            Err(Some(role)) => {
                complete = false;
                notes.push(AccessNote::UnnamedRole {
                    policy: policy.id.clone(),
                    role,
                });
            }
        }
    }
    notes.sort_by(|a, b| note_key(a).cmp(note_key(b)));
    (complete.then_some(entries), notes, custom)
}

fn note_key(note: &AccessNote) -> &PolicyId {
    match note {
        AccessNote::Unexpressible { policy, .. }
        | AccessNote::Duplicate { policy, .. }
        | AccessNote::UnnamedRole { policy, .. }
        | AccessNote::Unwritable { policy } => policy,
    }
}

/// One policy as an entry the planner resolves back to the same target and roles, with
/// the custom roles it grants; or the role it cannot name (`Err(None)`: no target or no
/// role the file can write).
fn written_entry<'a>(
    index: &AccessIndex<'a>,
    target: &PolicyTarget,
    roles: &[RoleCrn],
) -> Result<(DesiredAccess, Vec<&'a crate::model::LiveRole>), Option<RoleCrn>> {
    if (target.service.is_none() && target.resource_group_id.is_none())
        || (target.service.is_none() && target.instance_id.is_some())
        || roles.is_empty()
    {
        return Err(None);
    }
    let instance = target.instance_id.as_ref().map(|guid| {
        let named = (index.instance(guid))
            .filter(|i| !i.name.is_empty())
            .filter(|i| Some(&i.service) == target.service.as_ref())
            .filter(|i| matches!(index.instance_named(&i.service, &i.name), Found::One(one) if one.guid == *guid));
        match named {
            Some(i) => InstanceRef::Name(i.name.clone()),
            None => InstanceRef::Guid(guid.clone()),
        }
    });
    let resource_group = target.resource_group_id.as_ref().map(|id| {
        let named = (index.resource_group(id))
            .filter(|g| !g.name.is_empty())
            .filter(
                |g| matches!(index.resource_group_named(&g.name), Found::One(one) if one.id == *id),
            );
        match named {
            Some(g) => ResourceGroupRef::Name(g.name.clone()),
            None => ResourceGroupRef::Id(id.clone()),
        }
    });
    let mut names = BTreeSet::new();
    let mut custom = Vec::new();
    for crn in roles {
        // A name is written only when the planner resolves it back to this very CRN.
        let name = index
            .role_name(crn)
            .filter(|name| {
                (index.role_crn(target.service.as_ref(), name)).is_ok_and(|back| back == *crn)
            })
            .ok_or_else(|| Some(crn.clone()))?;
        if let Some(role) = index.custom_role(crn) {
            custom.push(role);
        }
        names.insert(name.clone());
    }
    Ok((
        DesiredAccess {
            service: target.service.clone(),
            instance,
            resource_group,
            roles: names,
        },
        custom,
    ))
}

/// The custom roles to declare, and those the format refuses.
fn declared_roles<'a>(
    granted: impl Iterator<Item = &'a crate::model::LiveRole>,
    format: &FileFormat,
) -> (Vec<DesiredRole>, Vec<UndeclaredRole>) {
    let mut roles = Vec::new();
    let mut undeclared = Vec::new();
    for live in granted {
        if !matches!(live.kind, RoleKind::Custom { .. }) {
            continue;
        }
        let role = DesiredRole {
            name: live.name.clone(),
            service: live.service.clone(),
            display_name: live.display_name.clone(),
            description: (!live.description.is_empty()).then(|| live.description.clone()),
            actions: live.actions.iter().cloned().collect(),
        };
        match (format.role_problem)(&role) {
            None => roles.push(role),
            Some(why) => undeclared.push(UndeclaredRole {
                name: role.name,
                why,
            }),
        }
    }
    (roles, undeclared)
}

/// A group's rules as `rules`, or the notes that keep them out.
fn written_rules(
    group: &LiveGroup,
    format: &FileFormat,
) -> (Option<Vec<DesiredRule>>, Vec<RuleNote>) {
    let Some(live) = live_rules(group) else {
        return (None, Vec::new());
    };
    let mut notes = Vec::new();
    let mut seen = BTreeSet::new();
    let mut rules = Vec::with_capacity(live.len());
    for rule in live {
        if rule.name.is_empty() {
            notes.push(RuleNote::Unnamed {
                rule: rule.id.clone(),
            });
            continue;
        }
        if !seen.insert(rule.name.to_lowercase()) {
            notes.push(RuleNote::SameName {
                name: rule.name.clone(),
            });
            continue;
        }
        if rule.unreadable_conditions > 0 {
            notes.push(RuleNote::Refused {
                name: rule.name.clone(),
                why: "it has a condition orgsync cannot read (an operator it does not know, or no claim)"
                    .into(),
            });
            continue;
        }
        let written = DesiredRule {
            name: rule.name.clone(),
            realm: rule.realm.clone(),
            expiration_hours: rule.expiration_hours,
            conditions: rule.conditions.clone(),
        };
        match (format.rule_problem)(&written) {
            Some(why) => notes.push(RuleNote::Refused {
                name: rule.name.clone(),
                why,
            }),
            None => rules.push(written),
        }
    }
    if rules.len() > MAX_RULES_PER_GROUP {
        notes.push(RuleNote::TooMany { rules: rules.len() });
    }
    (notes.is_empty().then_some(rules), notes)
}

/// The chosen groups as the planner will match them (the live group a name means), and
/// those whose names the format refuses.
fn exported_groups<'a>(
    live: &'a LiveState,
    chosen: &[GroupName],
    users: &UserIndex<'a>,
    format: &FileFormat,
) -> (Vec<ManagedGroup<'a>>, Vec<SkippedGroup>) {
    let live_groups = LiveGroups::new(&live.groups);
    let keys: BTreeSet<String> = chosen.iter().map(GroupName::key).collect();
    let mut managed = Vec::with_capacity(keys.len());
    let mut skipped = Vec::new();
    for key in keys {
        let Some(group) = live_groups.standing(&key) else {
            continue;
        };
        let name = group.name.as_str();
        if name.trim().is_empty()
            || name.chars().count() > format.max_group_name_chars
            || (format.group_name_problem)(name).is_some()
        {
            skipped.push(SkippedGroup {
                name: group.name.clone(),
                id: group.id.clone(),
            });
            continue;
        }
        managed.push(ManagedGroup {
            name: group.name.clone(),
            key,
            // What becomes of the live description is `written_group`'s decision.
            description: None,
            access: None,
            rules: None,
            live: Some(group),
            members: resolve_members(group, users).unwrap_or_default(),
        });
    }
    (managed, skipped)
}

fn written_group(group: &ManagedGroup<'_>, format: &FileFormat) -> Group {
    let live = group
        .live
        .map(|lg| lg.description.as_str())
        .unwrap_or_default();
    let description = if live.is_empty() {
        Description::Empty
    } else if live.chars().count() > format.max_description_chars {
        Description::TooLong
    } else {
        Description::Written(live.to_string())
    };
    let users = |m: &&Member<'_>| m.member.kind == MemberKind::User;
    let dynamic = |m: &&Member<'_>| m.member.membership == Membership::Dynamic;
    let mut dynamic_members: Vec<IamId> = (group.members.iter())
        .filter(|m| users(m) && dynamic(m))
        .map(|m| m.member.iam_id.clone())
        .collect();
    dynamic_members.dedup();
    Group {
        name: group.name.clone(),
        description,
        unmanaged: (group.members.iter())
            .filter(|m| !users(m))
            .map(|m| m.member.clone())
            .collect(),
        unknown: (group.members.iter())
            .filter(|m| users(m) && !dynamic(m) && m.user.is_none())
            .map(|m| m.member.iam_id.clone())
            .collect(),
        dynamic: dynamic_members,
        access: None,
        access_notes: Vec::new(),
        rules: None,
        rule_notes: Vec::new(),
    }
}

/// The entries under `users:`, and the account users that cannot be entries.
struct Decided {
    users: Vec<User>,
    unlistable: Vec<Unlistable>,
}

/// Per email, the entry the planner takes to stand for the person is listed, with its
/// groups; the others become comments.
fn decide_users(users: &UserIndex<'_>, groups: &ManagedGroups<'_>, format: &FileFormat) -> Decided {
    let static_of = static_groups(users, groups);
    let names = |u: UserIx| groups.names(&static_of[u]);
    let mut decided = Decided {
        users: Vec::new(),
        unlistable: Vec::new(),
    };
    for u in users.ixs() {
        let user = users.get(u);
        let unlistable = |reason| Unlistable {
            iam_id: user.iam_id.clone(),
            email: user_email(user).cloned(),
            reason,
            groups: names(u),
        };
        if let Some(problem) = (format.email_problem)(user.email.as_str()) {
            decided
                .unlistable
                .push(unlistable(UnlistableReason::InvalidEmail(problem)));
            continue;
        }
        // A valid email is not empty, so the index has an entry standing for it.
        let Some(standing) = users.standing(&user.email) else {
            continue;
        };
        if users.get(standing).state == UserState::ErrorWhileProcessing {
            // Only failed entries have this email (any other would stand for it).
            decided
                .unlistable
                .push(unlistable(UnlistableReason::FailedInvitation));
        } else if standing == u {
            decided.users.push(User {
                email: user.email.clone(),
                state: user.state.clone(),
                groups: names(u),
            });
        } else {
            // The planner keeps a duplicate's memberships where the email is placed; the
            // rest it removes, so those are what this entry cannot express.
            // Dynamic memberships are neither listed nor removed, so only static ones count.
            let listed = &static_of[standing];
            let beyond: Vec<GroupIx> = (static_of[u].iter().copied())
                .filter(|g| !listed.contains(g))
                .collect();
            decided.unlistable.push(Unlistable {
                groups: groups.names(&beyond),
                ..unlistable(UnlistableReason::DuplicateEmail)
            });
        }
    }
    decided.users.sort_by(|a, b| a.email.cmp(&b.email));
    decided
}

/// Per user, the managed groups (ascending) they are a static member of: a membership a
/// dynamic rule made is the rule's, so the file does not list it, and the planner never
/// removes it. One pass over the members.
fn static_groups(users: &UserIndex<'_>, groups: &ManagedGroups<'_>) -> IxVec<UserIx, Vec<GroupIx>> {
    let mut of: IxVec<UserIx, Vec<GroupIx>> = IxVec::filled(Vec::new(), users.len());
    for (g, group) in groups.iter() {
        for member in &group.members {
            if let Some(u) = member.user
                && member.member.membership == Membership::Static
                && of[u].last() != Some(&g)
            {
                of[u].push(g);
            }
        }
    }
    of
}

/// User-type members that User Management does not know, each once with its groups.
fn unknown_members(groups: &ManagedGroups<'_>) -> Vec<Unlistable> {
    let mut unknown: Vec<Unlistable> = Vec::new();
    for (_, group) in groups.iter() {
        for member in &group.members {
            if member.member.kind != MemberKind::User
                || member.user.is_some()
                || member.member.membership == Membership::Dynamic
            {
                continue;
            }
            let iam_id = &member.member.iam_id;
            match unknown.iter_mut().find(|u| &u.iam_id == iam_id) {
                Some(known) => known.groups.push(group.name.clone()),
                None => unknown.push(Unlistable {
                    iam_id: iam_id.clone(),
                    email: None,
                    reason: UnlistableReason::UnknownToUserManagement,
                    groups: vec![group.name.clone()],
                }),
            }
        }
    }
    unknown
}

/// Why the requested groups cannot be exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChooseError {
    /// Names in `--groups` the account has no group for.
    Unknown {
        unknown: Vec<String>,
        available: Vec<GroupName>,
    },
    /// `--groups` named Public Access, or an empty name.
    NotExportable { name: String, why: &'static str },
}

impl fmt::Display for ChooseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChooseError::Unknown { unknown, available } => {
                let unknown = unknown
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let plural = if unknown.contains(", ") { "s" } else { "" };
                if available.is_empty() {
                    write!(
                        f,
                        "--groups names access group{plural} {unknown}, but the account has no \
                         access groups besides Public Access; drop --groups to export the users"
                    )
                } else {
                    let list = available
                        .iter()
                        .map(|g| g.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    write!(
                        f,
                        "--groups names access group{plural} {unknown} that the account does not \
                         have (names are compared ignoring case); the account has: {list}. Fix \
                         --groups, or use --all-groups"
                    )
                }
            }
            ChooseError::NotExportable { name, why } => {
                write!(f, "--groups: `{name}` cannot be exported: {why}")
            }
        }
    }
}

impl std::error::Error for ChooseError {}

/// The groups to export: `wanted` (`--groups`, matched ignoring case and surrounding
/// spaces, spelled as the account spells them), or every group but Public Access. Sorted.
pub fn choose_groups(
    live: &[LiveGroup],
    wanted: Option<&[String]>,
) -> Result<Vec<GroupName>, ChooseError> {
    let exportable: BTreeSet<&GroupName> = live
        .iter()
        .filter(|g| !is_public_access(g.id.as_str(), g.name.as_str()))
        .map(|g| &g.name)
        .collect();
    let Some(wanted) = wanted else {
        return Ok(exportable.into_iter().cloned().collect());
    };
    let mut chosen = BTreeSet::new();
    let mut unknown = Vec::new();
    for name in wanted {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(ChooseError::NotExportable {
                name: name.clone(),
                why: "the name is empty; separate names with single commas",
            });
        }
        if is_public_access_name(trimmed) {
            return Err(ChooseError::NotExportable {
                name: name.clone(),
                why: "Public Access is IBM's built-in group, which orgsync never manages",
            });
        }
        match exportable.get(&GroupName::new(trimmed)) {
            Some(found) => {
                chosen.insert((*found).clone());
            }
            None => unknown.push(trimmed.to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(ChooseError::Unknown {
            unknown,
            available: exportable.into_iter().cloned().collect(),
        });
    }
    Ok(chosen.into_iter().collect())
}
