//! The plan as data: what `plan` decides, what reviewers read, what `apply` executes.
//!
//! These types serialise to exactly the JSON of docs/cli.md and read it back, because a saved
//! plan (`plan --out`) is the reviewed artifact that `apply PLANFILE` executes. Anything
//! only the renderers need (the rosters) is carried beside the data and never serialised,
//! so a plan read back from a file compares equal in its serialised fields only.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{AccountId, GroupName, IamId, PolicyId};

use super::change::{Change, ChangeKind};
use super::warning::Warning;

/// The only plan format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A complete plan (docs/cli.md, the JSON plan).
///
/// `==` compares every field, the rosters included (two fresh plans of the same inputs
/// are equal). To check a saved plan against a fresh one, use [`super::what_moved`],
/// which looks only at what is serialised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`FORMAT_VERSION`]; [`Plan::from_json`] refuses anything else.
    pub format_version: u32,
    pub account_id: AccountId,
    /// `sha256:<hex>` of the normalized desired state.
    pub config_digest: String,
    /// `sha256:<hex>` of the live state the plan was computed from.
    pub live_digest: String,
    /// In execution order (docs/reconciliation.md): roles, groups, grants and rules, invites,
    /// adds, then member, rule, policy and user removals.
    pub changes: Vec<Change>,
    pub summary: Summary,
    /// Written as their text; a plan read back from a file holds that text
    /// ([`Warning::Saved`]).
    pub warnings: Vec<Warning>,
    pub unmanaged: Unmanaged,
    /// Each changed group's members before and after, for the text diff. Empty for a plan
    /// read back from a file: renderers then show the changes without rosters.
    #[serde(skip)]
    pub rosters: BTreeMap<GroupName, Roster>,
}

/// Counts per kind (`summary` in docs/cli.md). The second wave's kinds are left out of
/// the JSON when zero, so a plan without them reads exactly as it always did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub create_role: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub update_role: usize,
    pub create_group: usize,
    pub update_group: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub create_policy: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub update_policy: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub create_rule: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub update_rule: usize,
    pub invite_user: usize,
    pub add_member: usize,
    pub remove_member: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub remove_rule: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub remove_policy: usize,
    pub remove_user: usize,
    pub total: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn of(changes: &[Change]) -> Summary {
        let mut s = Summary::default();
        for change in changes {
            *s.count_mut(change.kind()) += 1;
        }
        s.total = changes.len();
        s
    }

    /// The count of one kind.
    pub fn count(&self, kind: ChangeKind) -> usize {
        let mut copy = *self;
        *copy.count_mut(kind)
    }

    fn count_mut(&mut self, kind: ChangeKind) -> &mut usize {
        match kind {
            ChangeKind::CreateRole => &mut self.create_role,
            ChangeKind::UpdateRole => &mut self.update_role,
            ChangeKind::CreateGroup => &mut self.create_group,
            ChangeKind::UpdateGroup => &mut self.update_group,
            ChangeKind::CreatePolicy => &mut self.create_policy,
            ChangeKind::UpdatePolicy => &mut self.update_policy,
            ChangeKind::CreateRule => &mut self.create_rule,
            ChangeKind::UpdateRule => &mut self.update_rule,
            ChangeKind::InviteUser => &mut self.invite_user,
            ChangeKind::AddMember => &mut self.add_member,
            ChangeKind::RemoveMember => &mut self.remove_member,
            ChangeKind::RemoveRule => &mut self.remove_rule,
            ChangeKind::RemovePolicy => &mut self.remove_policy,
            ChangeKind::RemoveUser => &mut self.remove_user,
        }
    }
}

/// What the file does not govern (`unmanaged` in docs/cli.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unmanaged {
    /// Account users the file does not list (or whose entry expired) that this plan leaves
    /// in the account.
    pub users: usize,
    /// Non-user members (service IDs, trusted profiles, ...) of managed groups: left alone.
    pub members: Vec<UnmanagedMember>,
    /// Live policies of groups with `access` that the file cannot express (conditions,
    /// other attributes, tags): left alone. Absent from the JSON when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub policies: usize,
    /// Of those, the ones no entry could ever express, each with what the file cannot
    /// say about it (the others are duplicates, named by a warning). Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unexpressible_policies: Vec<UnexpressiblePolicy>,
    /// Members a dynamic rule added (`membership_type: dynamic`): never removed as
    /// members. Absent from the JSON when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_members: Vec<UnmanagedMember>,
}

/// A live policy left alone because the file cannot express it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnexpressiblePolicy {
    pub group: GroupName,
    pub policy_id: PolicyId,
    /// What the file cannot say about it, e.g. "the attribute `region`".
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnmanagedMember {
    pub group: GroupName,
    pub iam_id: IamId,
    /// The member `type` as IBM reports it: `service`, `profile`, ...
    #[serde(rename = "type")]
    pub kind: String,
}

/// A changed group's members as display lines (sorted), before and after the plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roster {
    pub before: Vec<String>,
    pub after: Vec<String>,
}

/// Why a saved plan cannot be read.
#[derive(Debug)]
pub enum PlanFileError {
    /// Not JSON of the plan format.
    Malformed(serde_json::Error),
    /// A `format_version` this build does not know.
    UnsupportedVersion(u32),
}

impl fmt::Display for PlanFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanFileError::Malformed(e) => write!(
                f,
                "the saved plan is not a valid orgsync plan ({e}); write it again with `orgsync plan --out PLANFILE`"
            ),
            PlanFileError::UnsupportedVersion(v) => write!(
                f,
                "the saved plan has format_version {v}, but this orgsync reads only version {FORMAT_VERSION}; write it again with this orgsync's `plan --out PLANFILE`"
            ),
        }
    }
}

impl std::error::Error for PlanFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlanFileError::Malformed(e) => Some(e),
            PlanFileError::UnsupportedVersion(_) => None,
        }
    }
}

impl Plan {
    /// The account users this plan takes out of the account: removals from it, and the
    /// failed invitations it replaces (sorted, once each). Commands read their groups
    /// (into `LiveState::user_groups`) and plan again, so that the plan names every group
    /// they leave; a plan that takes nobody out is made once.
    pub fn leaving_the_account(&self) -> Vec<IamId> {
        let mut leaving: Vec<IamId> = (self.changes.iter())
            .filter_map(|change| match change {
                Change::RemoveUser { iam_id, .. } => Some(iam_id.clone()),
                Change::InviteUser {
                    replaces_iam_id: Some(old),
                    ..
                } => Some(old.clone()),
                _ => None,
            })
            .collect();
        leaving.sort();
        leaving.dedup();
        leaving
    }

    /// No change at all (warnings do not count).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Removals as `policy.max_removals` counts them: `remove_member`, `remove_user`,
    /// `remove_policy`, `remove_rule`, and each `update_policy` that drops a role.
    pub fn removals(&self) -> usize {
        self.changes.iter().filter(|c| c.is_removal()).count()
    }

    /// Reads a saved plan (the text of a PLANFILE). The rosters are absent.
    pub fn from_json(text: &str) -> Result<Plan, PlanFileError> {
        // Look at the version first, so a future format gets the version message rather
        // than a complaint about some field it added.
        #[derive(Deserialize)]
        struct Version {
            format_version: Option<u32>,
        }
        if let Ok(Version {
            format_version: Some(v),
        }) = serde_json::from_str::<Version>(text)
            && v != FORMAT_VERSION
        {
            return Err(PlanFileError::UnsupportedVersion(v));
        }
        serde_json::from_str(text).map_err(PlanFileError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccessGroupId, Email};

    /// The example plan of docs/cli.md, verbatim (with concrete ids).
    const DOCUMENTED_EXAMPLE: &str = r#"{
  "format_version": 1,
  "account_id": "0123456789abcdef0123456789abcdef",
  "config_digest": "sha256:aa",
  "live_digest": "sha256:bb",
  "changes": [
    {"action": "create_group",  "group": "quantum-chemistry", "description": "..."},
    {"action": "update_group",  "group": "quantum-algorithms", "group_id": "AccessGroupId-1", "description": "new", "old_description": "old"},
    {"action": "invite_user",   "email": "carol@example.com", "groups": ["quantum-algorithms"], "replaces_iam_id": null},
    {"action": "add_member",    "group": "quantum-algorithms", "group_id": "AccessGroupId-1", "email": "bob@example.com", "iam_id": "IBMid-bob"},
    {"action": "remove_member", "group": "quantum-chemistry", "group_id": "AccessGroupId-2", "email": "dave@example.com", "iam_id": "IBMid-dave"},
    {"action": "remove_user",   "email": "eve@example.com", "iam_id": "IBMid-eve", "groups": ["quantum-chemistry"]}
  ],
  "summary": {"create_group": 1, "update_group": 1, "invite_user": 1, "add_member": 1, "remove_member": 1, "remove_user": 1, "total": 6},
  "warnings": ["..."],
  "unmanaged": {"users": 12, "members": [{"group": "quantum-chemistry", "iam_id": "iam-ServiceId-1", "type": "service"}]}
}"#;

    #[test]
    fn documented_example_round_trips_to_identical_json() {
        let plan = Plan::from_json(DOCUMENTED_EXAMPLE).expect("the documented example parses");
        assert_eq!(plan.changes.len(), 6);
        assert_eq!(plan.summary, Summary::of(&plan.changes));
        assert_eq!(plan.removals(), 2);
        let written = serde_json::to_value(&plan).expect("serialises");
        let original: serde_json::Value = serde_json::from_str(DOCUMENTED_EXAMPLE).expect("json");
        assert_eq!(written, original);
    }

    #[test]
    fn null_group_id_and_null_email_survive_the_round_trip() {
        let changes = vec![
            Change::AddMember {
                group: GroupName::new("new-group"),
                group_id: None,
                email: Email::new("a@x.org"),
                iam_id: IamId::new("IBMid-a"),
            },
            Change::RemoveMember {
                group: GroupName::new("g"),
                group_id: AccessGroupId::new("AccessGroupId-g"),
                email: None,
                iam_id: IamId::new("IBMid-ghost"),
            },
        ];
        let json = serde_json::to_value(&changes).expect("serialises");
        assert_eq!(json[0]["group_id"], serde_json::Value::Null);
        assert_eq!(json[1]["email"], serde_json::Value::Null);
        let back: Vec<Change> = serde_json::from_value(json).expect("parses");
        assert_eq!(back, changes);
    }

    #[test]
    fn saved_plan_with_unknown_action_or_field_is_refused() {
        let unknown_action = DOCUMENTED_EXAMPLE.replace("\"remove_user\",", "\"delete_account\",");
        assert!(matches!(
            Plan::from_json(&unknown_action),
            Err(PlanFileError::Malformed(_))
        ));
        let extra_field = DOCUMENTED_EXAMPLE.replace(
            "\"description\": \"new\",",
            "\"description\": \"new\", \"policy\": \"x\",",
        );
        assert!(matches!(
            Plan::from_json(&extra_field),
            Err(PlanFileError::Malformed(_))
        ));
    }

    #[test]
    fn saved_plan_of_another_format_version_names_the_version() {
        let v2 = DOCUMENTED_EXAMPLE.replace("\"format_version\": 1", "\"format_version\": 2");
        let err = Plan::from_json(&v2).expect_err("version 2 is refused");
        assert!(matches!(err, PlanFileError::UnsupportedVersion(2)));
        assert!(err.to_string().contains("format_version 2"));
    }
}
