//! Resources at rest: service instances (Resource Controller) and resource groups
//! (Resource Manager), both read-only through the API (docs/emulator.md, The state file).
//!
//! A hand-written instance needs only `name` and `service`; a resource group only `name`.
//! Everything else (GUIDs, CRNs, region, plan, timestamps) defaults at load, except that
//! a policy naming an instance must give the instance's `guid`, which is then written in
//! both places.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::emulator::ids;

/// A service instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceInstance {
    /// Not unique: IBM allows two instances with one name.
    pub name: String,
    /// The service's IAM name (the CRN's service segment), e.g. `quantum-computing`.
    pub service: String,
    /// The instance's GUID (the CRN's last segment, and a policy's `serviceInstance`);
    /// minted at load when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// Default `us-east`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_id: Option<String>,
    /// A resource group's id or name; default the account's default group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group_id: Option<String>,
    /// The Global Catalog id; default the service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_plan_id: Option<String>,
    /// `active` (default), `provisioning`, `inactive`, `failed`, `removed`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl ResourceInstance {
    pub fn crn(&self, account_id: &str) -> String {
        format!(
            "crn:v1:bluemix:public:{}:{}:a/{account_id}:{}::",
            self.service,
            self.region_id.as_deref().unwrap_or(DEFAULT_REGION),
            self.guid.as_deref().unwrap_or("")
        )
    }
}

/// A resource group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceGroup {
    /// 32 lower-case hex characters; minted at load when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Unique in the account, compared case-insensitively.
    pub name: String,
    /// The account's default group; when none is marked, the first listed is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// `ACTIVE` unless said otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

pub const DEFAULT_REGION: &str = "us-east";
/// The name of the group an account without `resource_groups` still has.
pub const DEFAULT_GROUP_NAME: &str = "Default";

/// The id a resource group gets when the state leaves it out: derived from the account
/// and the name, so it is the same on every load.
pub fn group_id_for(account_id: &str, name: &str) -> String {
    ids::hex(&ids::digest(&[b"resource-group", account_id.as_bytes(), name.as_bytes()])[..16])
}

/// The GUID an instance gets when the state leaves it out: derived from the account, the
/// name and its position, so duplicate names still get distinct GUIDs.
pub fn instance_guid_for(account_id: &str, name: &str, index: usize) -> String {
    ids::uuid_from(&[
        b"instance",
        account_id.as_bytes(),
        name.as_bytes(),
        &(index as u64).to_le_bytes(),
    ])
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The checks of resource groups and instances; problems are appended.
pub fn check(
    account_id: &str,
    groups: &[ResourceGroup],
    instances: &[ResourceInstance],
    problems: &mut Vec<String>,
) {
    let mut names = HashSet::new();
    let mut ids_seen = HashSet::new();
    let mut group_refs: HashSet<String> = HashSet::new();
    if groups.iter().filter(|g| g.default).count() > 1 {
        problems.push("more than one resource group is marked default".into());
    }
    for group in groups {
        let n = group.name.chars().count();
        if n == 0 || n > 40 {
            problems.push(format!(
                "resource group {:?}: name must be 1-40 characters",
                group.name
            ));
        }
        if !names.insert(group.name.to_lowercase()) {
            problems.push(format!(
                "resource group name {:?} is listed twice (names compare case-insensitively)",
                group.name
            ));
        }
        if let Some(id) = &group.id {
            if !is_hex32(id) {
                problems.push(format!(
                    "resource group {}: id {id:?} is not 32 lower-case hex characters",
                    group.name
                ));
            }
            if !ids_seen.insert(id.clone()) {
                problems.push(format!("resource group id {id} is listed twice"));
            }
        }
        group_refs.insert(
            group
                .id
                .clone()
                .unwrap_or_else(|| group_id_for(account_id, &group.name)),
        );
        group_refs.insert(group.name.clone());
    }
    let mut guids = HashSet::new();
    for instance in instances {
        let what = format!("resource instance {:?}", instance.name);
        if instance.name.is_empty() {
            problems.push("a resource instance has an empty name".into());
        }
        if instance.service.is_empty() || instance.service.contains(':') {
            problems.push(format!(
                "{what}: service must be a service name, e.g. quantum-computing"
            ));
        }
        if let Some(guid) = &instance.guid
            && (!guids.insert(guid.as_str()) || guid.is_empty() || guid.contains(':'))
        {
            problems.push(format!(
                "{what}: guid {guid:?} is empty, malformed or listed twice"
            ));
        }
        if let Some(group) = &instance.resource_group_id {
            let known = if groups.is_empty() {
                group == DEFAULT_GROUP_NAME
                    || *group == group_id_for(account_id, DEFAULT_GROUP_NAME)
            } else {
                group_refs.contains(group)
            };
            if !known {
                problems.push(format!(
                    "{what}: resource group {group:?} is not a resource group of the account (by id or name)"
                ));
            }
        }
    }
}
