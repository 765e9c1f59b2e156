//! The live state: what the account holds, as `iam::acquire` read it.

use std::fmt;

use serde::Serialize;

use std::collections::BTreeMap;

use super::{
    AccessGroupId, AccountId, Date, Email, GroupName, GroupRef, IamId, LiveInstance, LivePolicy,
    LiveResourceGroup, LiveRole, LiveRule,
};

/// A user's state in User Management. Unknown states are kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserState {
    Active,
    Processing,
    Pending,
    ErrorWhileProcessing,
    ErrorWhileDeleting,
    Suspended,
    IamIdInvalid,
    VpnOnly,
    DisabledClassicInfrastructure,
    Other(String),
}

impl UserState {
    pub fn parse(s: &str) -> UserState {
        match s.trim().to_ascii_uppercase().as_str() {
            "ACTIVE" => UserState::Active,
            "PROCESSING" => UserState::Processing,
            "PENDING" => UserState::Pending,
            "ERROR_WHILE_PROCESSING" => UserState::ErrorWhileProcessing,
            "ERROR_WHILE_DELETING" => UserState::ErrorWhileDeleting,
            "SUSPENDED" => UserState::Suspended,
            "IAMID_INVALID" => UserState::IamIdInvalid,
            "VPN_ONLY" => UserState::VpnOnly,
            "DISABLED_CLASSIC_INFRASTRUCTURE" => UserState::DisabledClassicInfrastructure,
            _ => UserState::Other(s.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            UserState::Active => "ACTIVE",
            UserState::Processing => "PROCESSING",
            UserState::Pending => "PENDING",
            UserState::ErrorWhileProcessing => "ERROR_WHILE_PROCESSING",
            UserState::ErrorWhileDeleting => "ERROR_WHILE_DELETING",
            UserState::Suspended => "SUSPENDED",
            UserState::IamIdInvalid => "IAMID_INVALID",
            UserState::VpnOnly => "VPN_ONLY",
            UserState::DisabledClassicInfrastructure => "DISABLED_CLASSIC_INFRASTRUCTURE",
            UserState::Other(s) => s,
        }
    }
}

impl fmt::Display for UserState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for UserState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveUser {
    pub iam_id: IamId,
    /// Normalized; may be empty when IBM returned none (then it matches no listed user).
    pub email: Email,
    pub state: UserState,
    /// When the user was added (invited) to the account, if IBM said.
    pub added_on: Option<Date>,
}

impl LiveUser {
    /// Orders conflicting entries of one iam_id (IBM does not make them, but nothing may
    /// depend on input order if it ever does): the smallest key wins.
    pub fn dedup_key(&self) -> (&IamId, &Email, &UserState, Option<Date>) {
        (&self.iam_id, &self.email, &self.state, self.added_on)
    }

    /// When one email has several account entries, the smallest key stands for the
    /// person: working states first (ACTIVE, PROCESSING, PENDING, then any other), a
    /// failed invitation last; ties by iam_id. The planner and export both decide so.
    pub fn standing_key(&self) -> (u8, &IamId) {
        let rank = match self.state {
            UserState::Active => 0,
            UserState::Processing => 1,
            UserState::Pending => 2,
            UserState::ErrorWhileProcessing => 4,
            _ => 3,
        };
        (rank, &self.iam_id)
    }
}

/// The kind of identity a group member is, from the member's `type`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberKind {
    User,
    Service,
    Profile,
    Other(String),
}

impl MemberKind {
    pub fn parse(s: &str) -> MemberKind {
        match s {
            "user" => MemberKind::User,
            "service" => MemberKind::Service,
            "profile" => MemberKind::Profile,
            other => MemberKind::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            MemberKind::User => "user",
            MemberKind::Service => "service",
            MemberKind::Profile => "profile",
            MemberKind::Other(s) => s,
        }
    }
}

impl Serialize for MemberKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LiveMember {
    pub iam_id: IamId,
    pub kind: MemberKind,
    /// Left out of the serialised form when static, so digests of accounts without
    /// dynamic members are what they always were.
    #[serde(skip_serializing_if = "Membership::is_static")]
    pub membership: Membership,
}

impl LiveMember {
    /// A static member: added by a membership call, removable by one.
    pub fn new(iam_id: IamId, kind: MemberKind) -> LiveMember {
        LiveMember {
            iam_id,
            kind,
            membership: Membership::Static,
        }
    }
}

/// How an identity is a member: added by a membership call (`static`), or by one of the
/// group's dynamic rules at login (`dynamic`), which membership calls cannot undo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    #[default]
    Static,
    Dynamic,
}

impl Membership {
    pub fn is_static(&self) -> bool {
        *self == Membership::Static
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LiveGroup {
    pub id: AccessGroupId,
    pub name: GroupName,
    pub description: String,
    /// Read only for managed groups; `None` for the rest, which orgsync never touches.
    pub members: Option<Vec<LiveMember>>,
    /// Read only for managed groups whose `access` the file declares.
    pub policies: Option<Vec<LivePolicy>>,
    /// Read only for managed groups whose `rules` the file declares.
    pub rules: Option<Vec<LiveRule>>,
}

/// The account as `iam::acquire` read it. Public Access is never included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveState {
    pub account_id: AccountId,
    /// The identity orgsync runs as (the `iam_id` of its token): never removed.
    pub caller: IamId,
    pub users: Vec<LiveUser>,
    pub groups: Vec<LiveGroup>,
    /// The roles of the services the file names (platform, service and the account's
    /// custom roles of each), as `GET /v2/roles` lists them.
    pub roles: Vec<LiveRole>,
    /// The instances the file names (every instance a name matches, so an ambiguous
    /// name can be reported with its candidates).
    pub instances: Vec<LiveInstance>,
    /// The resource groups the file names.
    pub resource_groups: Vec<LiveResourceGroup>,
    /// Every access group (managed or not) of each user the plan may remove from the
    /// account, read after a first look at the plan (`Plan::leaving_the_account`), so the
    /// plan names every group they leave. Users absent here were not read.
    pub user_groups: BTreeMap<IamId, Vec<GroupRef>>,
}
