//! What an access group grants: IAM access policies whose subject is the group, each
//! naming a target (a service, one of its instances, a resource group) and roles
//! (platform, service or custom). The file says it in names (`QR-ml`, `Default`,
//! `JobManager`); IBM stores ids and CRNs. These types carry both sides, so the planner
//! can match a file entry to a live policy by target and compare roles as sets
//! (docs/reconciliation.md, Access policies and custom roles).

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::string_id;
use super::{AccessGroupId, GroupName};

string_id!(
    /// An IAM service's name, e.g. `quantum-computing` (the `serviceName` attribute).
    ServiceName
);
string_id!(
    /// A role as the file names it: a platform role (`Viewer`, `Operator`, `Editor`,
    /// `Administrator`), a service role (`Reader`, `Writer`, `Manager`), or a custom
    /// role's `name` (`JobManager`). Compared exactly, as IBM compares them.
    RoleName
);
string_id!(
    /// A role's CRN, the `role_id` a policy carries, e.g.
    /// `crn:v1:bluemix:public:iam::::serviceRole:Reader`.
    RoleCrn
);
string_id!(
    /// A custom role's opaque id (`GET /v2/roles/{id}`).
    RoleId
);
string_id!(
    /// An access policy's id (a UUID).
    PolicyId
);
string_id!(
    /// A service instance's GUID: segment 8 of its CRN, the `serviceInstance` attribute.
    InstanceGuid
);
string_id!(
    /// A resource group's id.
    ResourceGroupId
);

/// The platform roles IBM defines for every service.
pub const PLATFORM_ROLES: [&str; 4] = ["Viewer", "Operator", "Editor", "Administrator"];
/// The service roles IBM defines for every IAM-enabled service.
pub const SERVICE_ROLES: [&str; 3] = ["Reader", "Writer", "Manager"];

/// The CRN IBM gives a custom role: `crn:v1:ibmcloud:public:iam-access-management::a/
/// <account>::customRole:<name>` (note `ibmcloud`, not `bluemix`). Known before the role
/// exists, so a plan can name it in a policy it creates in the same apply.
pub fn custom_role_crn(account: &super::AccountId, name: &RoleName) -> RoleCrn {
    RoleCrn::new(format!(
        "crn:v1:ibmcloud:public:iam-access-management::a/{account}::customRole:{name}"
    ))
}

// ---------------------------------------------------------------------------
// What the file says.

/// A custom role the file declares (`roles:`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredRole {
    pub name: RoleName,
    /// The service whose actions the role bundles.
    pub service: ServiceName,
    pub display_name: String,
    /// `None`: the file does not govern the description.
    pub description: Option<String>,
    /// Sorted, without duplicates.
    pub actions: BTreeSet<String>,
}

/// How the file names a service instance.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum InstanceRef {
    /// By name: resolved through Resource Controller; must match exactly one instance of
    /// the entry's service.
    Name(String),
    /// By GUID.
    Guid(InstanceGuid),
    /// By CRN (its service segment matches the entry's service; config checks that).
    Crn(String),
}

/// How the file names a resource group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum ResourceGroupRef {
    /// By name: resolved through Resource Manager.
    Name(String),
    /// By id (32 hex characters).
    Id(ResourceGroupId),
}

/// One `access` entry of a group: one IAM access policy whose subject is the group.
///
/// Its target is `(service, instance, resource_group)`:
/// - `service` alone: every instance of the service in the account;
/// - `service` + `instance`: that instance;
/// - `service` + `resource_group`: the service's instances in that resource group;
/// - `resource_group` alone: the resource group itself.
///
/// Config guarantees at least `service` or `resource_group`, and `instance` only with
/// `service`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredAccess {
    pub service: Option<ServiceName>,
    pub instance: Option<InstanceRef>,
    pub resource_group: Option<ResourceGroupRef>,
    /// Non-empty, without duplicates.
    pub roles: BTreeSet<RoleName>,
}

// ---------------------------------------------------------------------------
// What the account holds.

/// Which Policy Management version created a policy (from its `href`). Replace and
/// delete go through that version (docs/ibm-api.md, Policy Management).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyVersion {
    V1,
    V2,
}

impl PolicyVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V1 => "v1",
            PolicyVersion::V2 => "v2",
        }
    }
}

/// A policy's target as IBM stores it: the ids behind a [`DesiredAccess`] target. Two
/// policies with equal targets are the same policy to IBM (a second create is a 409).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PolicyTarget {
    /// `serviceName`.
    pub service: Option<ServiceName>,
    /// `serviceInstance`.
    pub instance_id: Option<InstanceGuid>,
    /// `resourceGroupId` (with a service), or the resource group itself
    /// (`resourceType: resource-group` + `resource: <id>`, without one).
    pub resource_group_id: Option<ResourceGroupId>,
}

/// A live policy whose subject is a managed group that has `access`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LivePolicy {
    pub id: PolicyId,
    pub version: PolicyVersion,
    /// The group the policy's subject names.
    pub group: AccessGroupId,
    /// What the file can say about it, or why it cannot.
    pub shape: PolicyShape,
    /// The `role_id`s it grants.
    pub roles: Vec<RoleCrn>,
}

/// Whether a live policy is one an `access` entry can express.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyShape {
    /// Only an account id plus the attributes of a [`PolicyTarget`], all `stringEquals`,
    /// no tags, conditions, `rule` or `pattern`.
    Expressible(PolicyTarget),
    /// Anything else: left alone and reported as unmanaged. The text says what the file
    /// cannot express (e.g. "a time-based condition", "the attribute `region`").
    Unexpressible(String),
}

/// Where a role comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleKind {
    /// `system_roles`: Viewer, Operator, Editor, Administrator.
    Platform,
    /// `service_roles`: Reader, Writer, Manager, and service-specific ones.
    Service,
    /// `custom_roles` of the account.
    Custom { id: RoleId },
}

/// A role as `GET /v2/roles?service_name=…` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveRole {
    pub crn: RoleCrn,
    /// The name the file uses: `display_name` for platform and service roles, `name` for
    /// custom roles.
    pub name: RoleName,
    pub display_name: String,
    /// Empty when IBM gave none.
    pub description: String,
    pub actions: Vec<String>,
    /// The service it was listed for (custom roles: their `service_name`).
    pub service: ServiceName,
    pub kind: RoleKind,
}

/// A service instance as Resource Controller lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LiveInstance {
    pub guid: InstanceGuid,
    pub crn: String,
    pub name: String,
    /// The CRN's service segment (`quantum-computing`).
    pub service: ServiceName,
    pub resource_group_id: Option<ResourceGroupId>,
}

/// A resource group as Resource Manager lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LiveResourceGroup {
    pub id: ResourceGroupId,
    pub name: String,
}

/// An access group a user belongs to, managed or not (read for the users a plan removes
/// from the account, so the plan can name every group they leave).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct GroupRef {
    pub id: AccessGroupId,
    pub name: GroupName,
}

impl fmt::Display for PolicyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
