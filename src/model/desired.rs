//! The desired state: what the validated config file says.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{
    AccountId, Date, DesiredAccess, DesiredRole, DesiredRule, Email, GroupName, InstanceRef,
    ResourceGroupRef, RoleName, ServiceName,
};

/// What to do with account users the file does not list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlistedUsers {
    #[default]
    Ignore,
    Remove,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub unlisted_users: UnlistedUsers,
    pub max_removals: u32,
    pub protected: BTreeSet<Email>,
    pub create_groups: bool,
    /// Lower-cased; empty means "any domain".
    pub allowed_domains: BTreeSet<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unlisted_users: UnlistedUsers::Ignore,
            max_removals: 10,
            protected: BTreeSet::new(),
            create_groups: true,
            allowed_domains: BTreeSet::new(),
        }
    }
}

/// A managed group. `access` and `rules` are `None` when the file does not say them: the
/// group's policies (or rules) are then left untouched and unreported; `Some` (even
/// empty) makes the file authoritative for them.
///
/// The new keys are left out of the serialised form when absent, so the config digest of
/// a file without them is what it always was (a saved plan stays valid across upgrades).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DesiredGroup {
    pub name: GroupName,
    /// `None`: the file does not govern the description.
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<Vec<DesiredAccess>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<DesiredRule>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredUser {
    pub email: Email,
    /// Managed groups this user belongs to; every one is declared in `DesiredState::groups`.
    pub groups: BTreeSet<GroupName>,
    /// From this day (UTC) on, the user is treated as unlisted.
    pub expires: Option<Date>,
}

/// The validated config file. Invariants (guaranteed by `config`): every user's group is a
/// key of `groups`; no group is `Public Access`; emails and group names are unique; every
/// `access` entry names a service or a resource group, an instance only with a service,
/// at least one role and no role twice, and no two entries of a group share a target as
/// written; a declared role's actions belong to its service; rule names are unique
/// within their group (ignoring case), at most five a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredState {
    pub account_id: AccountId,
    pub policy: Policy,
    pub groups: BTreeMap<GroupName, DesiredGroup>,
    pub users: BTreeMap<Email, DesiredUser>,
    /// Custom roles the file declares (`roles:`), by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<RoleName, DesiredRole>,
}

impl DesiredState {
    /// What `iam::acquire` must read for this file: only what the file names.
    pub fn live_query(&self) -> LiveQuery {
        let mut query = LiveQuery {
            managed: self.groups.keys().cloned().collect(),
            ..LiveQuery::default()
        };
        for (name, group) in &self.groups {
            if let Some(access) = &group.access {
                query.policies_of.insert(name.clone());
                for entry in access {
                    if let Some(service) = &entry.service {
                        query.role_services.insert(service.clone());
                    }
                    if let Some(instance) = &entry.instance {
                        query.instances.insert(instance.clone());
                    }
                    if let Some(ResourceGroupRef::Name(rg)) = &entry.resource_group {
                        query.resource_groups.insert(rg.clone());
                    }
                }
            }
            if group.rules.is_some() {
                query.rules_of.insert(name.clone());
            }
        }
        for role in self.roles.values() {
            query.role_services.insert(role.service.clone());
        }
        query
    }
}

/// What to read from the account beyond users and groups (which are always read).
/// Each part is read only when non-empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveQuery {
    /// Managed groups: their members are read.
    pub managed: BTreeSet<GroupName>,
    /// Managed groups with `access`: their policies are read.
    pub policies_of: BTreeSet<GroupName>,
    /// Managed groups with `rules`: their dynamic rules are read.
    pub rules_of: BTreeSet<GroupName>,
    /// Services whose roles are listed (`GET /v2/roles?service_name=…`, with the account's
    /// custom roles of that service).
    pub role_services: BTreeSet<ServiceName>,
    /// Instances the file names, resolved through Resource Controller.
    pub instances: BTreeSet<InstanceRef>,
    /// Resource groups the file names by name, resolved through Resource Manager.
    pub resource_groups: BTreeSet<String>,
    /// Export: every instance and resource group the read policies name, and every custom
    /// role of the account, so the file can say them by name.
    pub everything_policies_name: bool,
}
