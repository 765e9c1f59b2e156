//! How the planner reads what the account says about access, in one place: the names the
//! file uses (roles, instances, resource groups) turned into the ids IBM stores, and back
//! (docs/reconciliation.md, Access policies and custom roles).
//!
//! Built only when the file governs some group's access (or for an export), so a file
//! without them pays nothing. Like [`super::index`], the live lists are indexed first,
//! deduplicated and in a fixed order, so that no answer depends on the order IBM's pages
//! came in; the export decision ([`super::export`]) resolves through this same index, so
//! a name the export writes means to the planner exactly what the export meant.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    AccountId, DesiredRole, InstanceGuid, LiveGroup, LiveInstance, LivePolicy, LiveResourceGroup,
    LiveRole, LiveState, PLATFORM_ROLES, PolicyId, PolicyShape, PolicyTarget, PolicyVersion,
    ResourceGroupId, RoleCrn, RoleKind, RoleName, ServiceName, custom_role_crn,
};

/// The CRN IBM gives a platform role (docs/ibm-api.md, Roles): the same for every
/// service, and the only roles a target without a service (a resource group) can grant.
pub(super) fn platform_role_crn(name: &str) -> RoleCrn {
    RoleCrn::new(format!("crn:v1:bluemix:public:iam::::role:{name}"))
}

/// Whether this role of the listing is a custom one.
fn is_custom(role: &LiveRole) -> bool {
    matches!(role.kind, RoleKind::Custom { .. })
}

/// Roles, instances and resource groups, indexed for the questions the planner asks.
pub(super) struct AccessIndex<'a> {
    account: &'a AccountId,
    /// Per service, per name: the CRN the name means (IBM's roles before custom ones, so
    /// a custom role cannot shadow `Reader`).
    roles: BTreeMap<&'a str, BTreeMap<&'a str, RoleCrn>>,
    /// Every CRN the listing or the file names, with the name the file would use.
    names: BTreeMap<RoleCrn, RoleName>,
    /// The account's custom roles by CRN (the first in the listing's sorted order).
    custom: BTreeMap<&'a RoleCrn, &'a LiveRole>,
    /// Declared custom roles by name, with their service, for "a role of another service".
    declared: BTreeMap<&'a str, &'a ServiceName>,
    /// Per (service, name): the instances of that name, by GUID.
    instances: BTreeMap<(&'a str, &'a str), BTreeMap<&'a InstanceGuid, &'a LiveInstance>>,
    instance_by_guid: BTreeMap<&'a InstanceGuid, &'a LiveInstance>,
    /// Per name: the resource groups of that name, by id.
    resource_groups: BTreeMap<&'a str, BTreeMap<&'a ResourceGroupId, &'a LiveResourceGroup>>,
    resource_group_by_id: BTreeMap<&'a ResourceGroupId, &'a LiveResourceGroup>,
}

/// Why a role name means nothing for a target.
#[derive(Debug)]
pub(super) struct UnknownRole {
    /// Close names the target's service knows, for "did you mean".
    pub(super) suggestions: Vec<RoleName>,
    /// The service a custom role of that name belongs to, when it is another one.
    pub(super) other_service: Option<ServiceName>,
}

/// How a name of the file resolved: to one thing, to nothing, or to several.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Found<T> {
    One(T),
    None,
    Several(Vec<T>),
}

impl<'a> AccessIndex<'a> {
    /// `declared`: the custom roles the file declares (none for an export).
    pub(super) fn new(declared: &'a BTreeMap<RoleName, DesiredRole>, live: &'a LiveState) -> Self {
        let mut index = AccessIndex {
            account: &live.account_id,
            roles: BTreeMap::new(),
            names: BTreeMap::new(),
            custom: BTreeMap::new(),
            declared: BTreeMap::new(),
            instances: BTreeMap::new(),
            instance_by_guid: BTreeMap::new(),
            resource_groups: BTreeMap::new(),
            resource_group_by_id: BTreeMap::new(),
        };
        index.index_roles(declared, live);
        for instance in &live.instances {
            index
                .instances
                .entry((instance.service.as_str(), instance.name.as_str()))
                .or_default()
                .entry(&instance.guid)
                .and_modify(|kept| *kept = (*kept).min(instance))
                .or_insert(instance);
            index
                .instance_by_guid
                .entry(&instance.guid)
                .and_modify(|kept| *kept = (*kept).min(instance))
                .or_insert(instance);
        }
        for group in &live.resource_groups {
            index
                .resource_groups
                .entry(group.name.as_str())
                .or_default()
                .entry(&group.id)
                .and_modify(|kept| *kept = (*kept).min(group))
                .or_insert(group);
            index
                .resource_group_by_id
                .entry(&group.id)
                .and_modify(|kept| *kept = (*kept).min(group))
                .or_insert(group);
        }
        index
    }

    /// IBM's roles of each listed service first, then the account's custom roles, then
    /// the roles the file declares that the account lacks (under the CRN IBM will give
    /// them): the first meaning of a name wins, whatever the listing's order.
    fn index_roles(&mut self, declared: &'a BTreeMap<RoleName, DesiredRole>, live: &'a LiveState) {
        let mut listed: Vec<&LiveRole> = live.roles.iter().collect();
        listed.sort_by(|a, b| {
            (is_custom(a), &a.service, &a.name, &a.crn).cmp(&(
                is_custom(b),
                &b.service,
                &b.name,
                &b.crn,
            ))
        });
        for role in listed {
            self.roles
                .entry(role.service.as_str())
                .or_default()
                .entry(role.name.as_str())
                .or_insert_with(|| role.crn.clone());
            self.names
                .entry(role.crn.clone())
                .or_insert_with(|| role.name.clone());
            if is_custom(role) {
                self.custom.entry(&role.crn).or_insert(role);
            }
        }
        for role in declared.values() {
            self.declared.insert(role.name.as_str(), &role.service);
            let crn = custom_role_crn(self.account, &role.name);
            self.roles
                .entry(role.service.as_str())
                .or_default()
                .entry(role.name.as_str())
                .or_insert_with(|| crn.clone());
            self.names.entry(crn).or_insert_with(|| role.name.clone());
        }
        for name in PLATFORM_ROLES {
            self.names
                .entry(platform_role_crn(name))
                .or_insert_with(|| RoleName::new(name));
        }
    }

    /// The CRN a role name means on a target of `service` (`None`: a resource group,
    /// which only platform roles apply to).
    pub(super) fn role_crn(
        &self,
        service: Option<&ServiceName>,
        name: &RoleName,
    ) -> Result<RoleCrn, UnknownRole> {
        let found = match service {
            Some(service) => self
                .roles
                .get(service.as_str())
                .and_then(|roles| roles.get(name.as_str()))
                .cloned(),
            None => PLATFORM_ROLES
                .contains(&name.as_str())
                .then(|| platform_role_crn(name.as_str())),
        };
        found.ok_or_else(|| UnknownRole {
            suggestions: super::similar::similar(name.as_str(), self.known(service))
                .into_iter()
                .map(RoleName::new)
                .collect(),
            other_service: self
                .declared
                .get(name.as_str())
                .filter(|s| Some(**s) != service)
                .map(|s| (*s).clone()),
        })
    }

    /// The names a target of `service` can grant.
    fn known(&self, service: Option<&ServiceName>) -> Box<dyn Iterator<Item = &str> + '_> {
        match service.and_then(|s| self.roles.get(s.as_str())) {
            Some(roles) => Box::new(roles.keys().copied()),
            None if service.is_some() => Box::new(std::iter::empty()),
            None => Box::new(PLATFORM_ROLES.into_iter()),
        }
    }

    /// The account's custom role with this CRN, if the listing has one.
    pub(super) fn custom_role(&self, crn: &RoleCrn) -> Option<&'a LiveRole> {
        self.custom.get(crn).copied()
    }

    /// The name the file would use for a role CRN, if the listing or the file knows it.
    pub(super) fn role_name(&self, crn: &RoleCrn) -> Option<&RoleName> {
        self.names.get(crn)
    }

    /// The instances of `service` named `name`, by GUID.
    pub(super) fn instance_named(
        &self,
        service: &ServiceName,
        name: &str,
    ) -> Found<&'a LiveInstance> {
        found(self.instances.get(&(service.as_str(), name)))
    }

    /// Names of the service's instances close to `name`.
    pub(super) fn instances_like(&self, service: &ServiceName, name: &str) -> Vec<String> {
        let names: BTreeSet<&str> = self
            .instances
            .keys()
            .filter(|(s, _)| *s == service.as_str())
            .map(|(_, n)| *n)
            .collect();
        super::similar::similar(name, names.into_iter())
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    pub(super) fn instance(&self, guid: &InstanceGuid) -> Option<&'a LiveInstance> {
        self.instance_by_guid.get(guid).copied()
    }

    /// The resource groups named `name`, by id.
    pub(super) fn resource_group_named(&self, name: &str) -> Found<&'a LiveResourceGroup> {
        found(self.resource_groups.get(name))
    }

    /// Resource group names close to `name`.
    pub(super) fn resource_groups_like(&self, name: &str) -> Vec<String> {
        super::similar::similar(name, self.resource_groups.keys().copied())
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    pub(super) fn resource_group(&self, id: &ResourceGroupId) -> Option<&'a LiveResourceGroup> {
        self.resource_group_by_id.get(id).copied()
    }
}

/// A group's live policies as the planner manages them.
#[derive(Default)]
pub(super) struct LivePolicies<'l> {
    /// Per target, the policy managed: of several (IBM forbids them), the smallest id.
    pub(super) by_target: BTreeMap<&'l PolicyTarget, &'l LivePolicy>,
    /// Targets with several policies: the managed one and the others.
    pub(super) duplicates: Vec<(&'l PolicyTarget, &'l PolicyId, Vec<PolicyId>)>,
    /// Unexpressible policies and the duplicates: left alone, counted as unmanaged.
    pub(super) left_alone: usize,
    /// The unexpressible ones, by id, with what the file cannot express about them.
    pub(super) unexpressible: Vec<(&'l PolicyId, &'l str)>,
}

impl<'l> LivePolicies<'l> {
    /// `None` when the group's policies were not read.
    pub(super) fn of(group: &'l LiveGroup) -> Option<Self> {
        let mut by_id: BTreeMap<&PolicyId, &LivePolicy> = BTreeMap::new();
        // A listing may repeat a policy (pages overlap): one per id, the smallest listing
        // of it. A policy whose subject is another group is never this group's to change.
        for policy in group
            .policies
            .as_ref()?
            .iter()
            .filter(|p| p.group == group.id)
        {
            by_id
                .entry(&policy.id)
                .and_modify(|kept| {
                    if policy_key(policy) < policy_key(kept) {
                        *kept = policy;
                    }
                })
                .or_insert(policy);
        }
        let mut live = LivePolicies::default();
        let mut extra: BTreeMap<&PolicyTarget, Vec<PolicyId>> = BTreeMap::new();
        for policy in by_id.into_values() {
            let target = match &policy.shape {
                PolicyShape::Expressible(target) => target,
                PolicyShape::Unexpressible(reason) => {
                    live.left_alone += 1;
                    live.unexpressible.push((&policy.id, reason));
                    continue;
                }
            };
            if live.by_target.contains_key(target) {
                extra.entry(target).or_default().push(policy.id.clone());
                live.left_alone += 1;
            } else {
                live.by_target.insert(target, policy);
            }
        }
        live.duplicates = extra
            .into_iter()
            .filter_map(|(target, others)| {
                let managed = live.by_target.get(target)?;
                Some((target, &managed.id, others))
            })
            .collect();
        Some(live)
    }
}

/// Orders conflicting listings of one policy id (nothing may depend on input order).
type PolicyKey<'p> = (
    PolicyVersion,
    Option<&'p PolicyTarget>,
    &'p str,
    &'p [RoleCrn],
);

fn policy_key(policy: &LivePolicy) -> PolicyKey<'_> {
    let (target, reason) = match &policy.shape {
        PolicyShape::Expressible(target) => (Some(target), ""),
        PolicyShape::Unexpressible(reason) => (None, reason.as_str()),
    };
    (policy.version, target, reason, &policy.roles)
}

/// What a lookup of several-or-one found.
fn found<K, T: Copy>(matches: Option<&BTreeMap<K, T>>) -> Found<T> {
    let all: Vec<T> = matches
        .into_iter()
        .flat_map(|m| m.values().copied())
        .collect();
    match all.len() {
        0 => Found::None,
        1 => Found::One(all[0]),
        _ => Found::Several(all),
    }
}
