//! The access phase (docs/reconciliation.md, Access policies): for each managed group
//! whose `access` the file gives, every entry is resolved to the target IBM stores (names
//! to GUIDs and ids, role names to CRNs) and matched to the group's live policy of that
//! target. Same target, other roles: `update_policy`; no live policy: `create_policy`; a
//! live policy no entry names: `remove_policy`. Policies the file cannot express are left
//! alone and counted. A group without `access` is not looked at.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    DesiredAccess, InstanceGuid, InstanceRef, PolicyTarget, ResourceGroupId, ResourceGroupRef,
    RoleCrn, RoleName,
};

use super::super::MAX_POLICIES_PER_GROUP;
use super::super::change::{Change, Target};
use super::super::error::{AccessProblem, PlanError};
use super::super::index::ManagedGroup;
use super::super::resolve::{AccessIndex, Found, LivePolicies};
use super::super::types::UnexpressiblePolicy;
use super::super::warning::Warning;
use super::{Decisions, Planner};

impl<'a> Planner<'a> {
    /// Policies: resolve every group's entries, then create, update and remove. Every
    /// entry that cannot be resolved is reported at once, and then nothing is planned.
    pub(super) fn plan_access(&mut self) -> Result<(), PlanError> {
        if !self.groups.iter().any(|(_, g)| g.access.is_some()) {
            return Ok(());
        }
        let index = AccessIndex::new(&self.desired.roles, self.live);
        let mut problems = Vec::new();
        for (_, group) in self.groups.iter() {
            let Some(entries) = group.access else {
                continue;
            };
            let live = match group.live {
                None => LivePolicies::default(),
                Some(lg) => LivePolicies::of(lg).ok_or_else(|| PlanError::PoliciesNotRead {
                    group: group.name.clone(),
                    group_id: lg.id.clone(),
                })?,
            };
            let wanted = match wanted_policies(&index, group, entries) {
                Ok(wanted) => wanted,
                Err(mut found) => {
                    problems.append(&mut found);
                    continue;
                }
            };
            let policies = wanted.len() + live.left_alone;
            if policies > MAX_POLICIES_PER_GROUP {
                problems.push(AccessProblem::TooManyPolicies {
                    group: group.name.clone(),
                    policies,
                    limit: MAX_POLICIES_PER_GROUP,
                });
            } else if problems.is_empty() {
                self.decided.unmanaged_policies += live.left_alone;
                (self.decided.unexpressible_policies).extend(live.unexpressible.iter().map(
                    |(id, reason)| UnexpressiblePolicy {
                        group: group.name.clone(),
                        policy_id: (*id).clone(),
                        reason: reason.to_string(),
                    },
                ));
                reconcile(&index, group, &wanted, &live, &mut self.decided);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PlanError::Access { problems })
        }
    }
}

/// An entry, resolved: the target IBM stores, the plan's view of it, the roles by name
/// (sorted) with their CRNs.
struct Wanted {
    target: PolicyTarget,
    view: Target,
    roles: Vec<(RoleName, RoleCrn)>,
}

/// The group's entries, resolved, in target order; or every problem they have.
fn wanted_policies(
    index: &AccessIndex<'_>,
    group: &ManagedGroup<'_>,
    entries: &[DesiredAccess],
) -> Result<Vec<Wanted>, Vec<AccessProblem>> {
    let mut problems = Vec::new();
    let mut wanted: BTreeMap<PolicyTarget, Wanted> = BTreeMap::new();
    for entry in entries {
        let (target, view) = match resolve_target(index, group, entry) {
            Ok(resolved) => resolved,
            Err(problem) => {
                problems.push(*problem);
                continue;
            }
        };
        let mut roles = Vec::with_capacity(entry.roles.len());
        for role in &entry.roles {
            match index.role_crn(entry.service.as_ref(), role) {
                Ok(crn) => roles.push((role.clone(), crn)),
                Err(unknown) => problems.push(AccessProblem::UnknownRole {
                    group: group.name.clone(),
                    target: view.clone(),
                    role: role.clone(),
                    suggestions: unknown.suggestions,
                    other_service: unknown.other_service,
                }),
            }
        }
        if wanted.contains_key(&target) {
            problems.push(AccessProblem::SameTarget {
                group: group.name.clone(),
                target: view,
            });
            continue;
        }
        wanted.insert(
            target.clone(),
            Wanted {
                target,
                view,
                roles,
            },
        );
    }
    if problems.is_empty() {
        Ok(wanted.into_values().collect())
    } else {
        Err(problems)
    }
}

/// The target an entry names, as IBM stores it and as the plan shows it.
fn resolve_target(
    index: &AccessIndex<'_>,
    group: &ManagedGroup<'_>,
    entry: &DesiredAccess,
) -> Result<(PolicyTarget, Target), Box<AccessProblem>> {
    let service = entry.service.clone();
    let (instance, instance_id) = match &entry.instance {
        None => (None, None),
        Some(InstanceRef::Guid(guid)) => (Some(guid.to_string()), Some(guid.clone())),
        Some(InstanceRef::Crn(crn)) => {
            let guid = crn_guid(crn).ok_or_else(|| {
                Box::new(AccessProblem::InvalidInstanceCrn {
                    group: group.name.clone(),
                    crn: crn.clone(),
                })
            })?;
            (Some(crn.clone()), Some(guid))
        }
        Some(InstanceRef::Name(name)) => {
            // Config guarantees a service beside an instance; without one, no instance
            // of "no service" has the name.
            let service = service.clone().unwrap_or_default();
            match index.instance_named(&service, name) {
                Found::One(found) => (Some(name.clone()), Some(found.guid.clone())),
                Found::None => {
                    return Err(Box::new(AccessProblem::UnknownInstance {
                        group: group.name.clone(),
                        similar: index.instances_like(&service, name),
                        service,
                        name: name.clone(),
                    }));
                }
                Found::Several(all) => {
                    return Err(Box::new(AccessProblem::AmbiguousInstance {
                        group: group.name.clone(),
                        service,
                        name: name.clone(),
                        crns: all.iter().map(|i| i.crn.clone()).collect(),
                    }));
                }
            }
        }
    };
    let (resource_group, resource_group_id) = match &entry.resource_group {
        None => (None, None),
        Some(ResourceGroupRef::Id(id)) => (Some(id.to_string()), Some(id.clone())),
        Some(ResourceGroupRef::Name(name)) => match index.resource_group_named(name) {
            Found::One(found) => (Some(name.clone()), Some(found.id.clone())),
            Found::None => {
                return Err(Box::new(AccessProblem::UnknownResourceGroup {
                    group: group.name.clone(),
                    name: name.clone(),
                    similar: index.resource_groups_like(name),
                }));
            }
            Found::Several(all) => {
                return Err(Box::new(AccessProblem::AmbiguousResourceGroup {
                    group: group.name.clone(),
                    name: name.clone(),
                    ids: all.iter().map(|g| g.id.clone()).collect(),
                }));
            }
        },
    };
    let target = PolicyTarget {
        service: service.clone(),
        instance_id: instance_id.clone(),
        resource_group_id: resource_group_id.clone(),
    };
    let view = Target {
        service,
        instance,
        instance_id,
        resource_group,
        resource_group_id,
    };
    Ok((target, view))
}

/// The GUID segment of an instance CRN:
/// `crn:v1:bluemix:public:<service>:<region>:a/<account>:<guid>::`.
pub(in crate::plan) fn crn_guid(crn: &str) -> Option<InstanceGuid> {
    crn.split(':')
        .nth(7)
        .filter(|guid| !guid.is_empty())
        .map(InstanceGuid::new)
}

/// The changes that make the group's live policies what its entries say.
fn reconcile(
    index: &AccessIndex<'_>,
    group: &ManagedGroup<'_>,
    wanted: &[Wanted],
    live: &LivePolicies<'_>,
    decided: &mut Decisions<'_>,
) {
    for (target, managed, others) in &live.duplicates {
        decided.warnings.push(Warning::DuplicatePolicies {
            group: group.name.clone(),
            target: live_view(index, target),
            managed: (*managed).clone(),
            others: others.clone(),
        });
    }
    for w in wanted {
        let (roles, role_ids): (Vec<RoleName>, Vec<RoleCrn>) = w.roles.iter().cloned().unzip();
        let change = match (live.by_target.get(&w.target), group.live) {
            (Some(policy), Some(lg)) => {
                let have: BTreeSet<&RoleCrn> = policy.roles.iter().collect();
                let want: BTreeSet<&RoleCrn> = role_ids.iter().collect();
                if have == want {
                    continue;
                }
                Change::UpdatePolicy {
                    group: group.name.clone(),
                    group_id: lg.id.clone(),
                    policy_id: policy.id.clone(),
                    api_version: policy.version,
                    target: w.view.clone(),
                    roles,
                    role_ids,
                    old_roles: named(index, &policy.roles)
                        .into_iter()
                        .map(|(n, _)| n)
                        .collect(),
                }
            }
            _ => Change::CreatePolicy {
                group: group.name.clone(),
                group_id: group.live.map(|lg| lg.id.clone()),
                target: w.view.clone(),
                roles,
                role_ids,
            },
        };
        decided.changes.push(change);
    }
    let Some(lg) = group.live else { return };
    let named_targets: BTreeSet<&PolicyTarget> = wanted.iter().map(|w| &w.target).collect();
    for (target, policy) in &live.by_target {
        if named_targets.contains(target) {
            continue;
        }
        let (roles, role_ids) = named(index, &policy.roles).into_iter().unzip();
        decided.changes.push(Change::RemovePolicy {
            group: group.name.clone(),
            group_id: lg.id.clone(),
            policy_id: policy.id.clone(),
            api_version: policy.version,
            target: live_view(index, target),
            roles,
            role_ids,
        });
    }
}

/// A live policy's roles by the names the file would use (the CRN's text where no name
/// is known), sorted by name, each once.
fn named(index: &AccessIndex<'_>, crns: &[RoleCrn]) -> Vec<(RoleName, RoleCrn)> {
    let mut named: Vec<(RoleName, RoleCrn)> = crns
        .iter()
        .map(|crn| {
            let name =
                (index.role_name(crn).cloned()).unwrap_or_else(|| RoleName::new(crn.as_str()));
            (name, crn.clone())
        })
        .collect();
    named.sort();
    named.dedup();
    named
}

/// A live target as the plan shows it: the names the account has for its ids.
pub(in crate::plan) fn live_view(index: &AccessIndex<'_>, target: &PolicyTarget) -> Target {
    let instance = (target.instance_id.as_ref())
        .and_then(|guid| index.instance(guid))
        .map(|i| i.name.clone())
        .filter(|name| !name.is_empty());
    let resource_group = (target.resource_group_id.as_ref())
        .and_then(|id: &ResourceGroupId| index.resource_group(id))
        .map(|g| g.name.clone())
        .filter(|name| !name.is_empty());
    Target {
        service: target.service.clone(),
        instance,
        instance_id: target.instance_id.clone(),
        resource_group,
        resource_group_id: target.resource_group_id.clone(),
    }
}
