//! The custom-roles phase (docs/reconciliation.md, Custom roles): a declared role the
//! account lacks is created, one whose display name, description (when the file gives
//! one) or actions differ is updated. Roles the file does not declare are never looked at
//! beyond counting them against IBM's limit.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{DesiredRole, LiveRole, RoleId, RoleKind};

use super::super::MAX_CUSTOM_ROLES;
use super::super::change::Change;
use super::super::error::PlanError;
use super::Planner;

impl<'a> Planner<'a> {
    /// Custom roles: create the missing, update the differing.
    pub(super) fn plan_roles(&mut self) -> Result<(), PlanError> {
        if self.desired.roles.is_empty() {
            return Ok(());
        }
        let live = live_custom_roles(&self.live.roles);
        let mut creates = 0;
        for role in self.desired.roles.values() {
            let same_name = live.get(role.name.as_str());
            let of_service = same_name.and_then(|roles| {
                roles
                    .iter()
                    .find(|(_, r)| r.service == role.service)
                    .map(|(id, r)| (*id, *r))
            });
            let change = match (of_service, same_name) {
                (Some((id, found)), _) => match update(role, id, found) {
                    Some(change) => change,
                    None => continue,
                },
                (None, Some(taken)) if !taken.is_empty() => {
                    return Err(PlanError::RoleNameTaken {
                        role: role.name.clone(),
                        service: role.service.clone(),
                        taken_by: (taken.values().next())
                            .map(|r| r.service.clone())
                            .unwrap_or_default(),
                    });
                }
                (None, _) => {
                    creates += 1;
                    Change::CreateRole {
                        role: role.name.clone(),
                        service: role.service.clone(),
                        display_name: role.display_name.clone(),
                        description: role.description.clone(),
                        actions: role.actions.iter().cloned().collect(),
                    }
                }
            };
            self.decided.changes.push(change);
        }
        let existing: usize = live.values().map(BTreeMap::len).sum();
        if creates > 0 && existing + creates > MAX_CUSTOM_ROLES {
            return Err(PlanError::TooManyCustomRoles {
                live: existing,
                creates,
            });
        }
        Ok(())
    }
}

/// The account's custom roles by name, each name's roles by id (the listing may repeat a
/// role: one entry per id, the smallest listing of it). Names are unique in an account,
/// but several services' listings may carry one role.
fn live_custom_roles(roles: &[LiveRole]) -> BTreeMap<&str, BTreeMap<&RoleId, &LiveRole>> {
    let mut by_name: BTreeMap<&str, BTreeMap<&RoleId, &LiveRole>> = BTreeMap::new();
    for role in roles {
        let RoleKind::Custom { id } = &role.kind else {
            continue;
        };
        by_name
            .entry(role.name.as_str())
            .or_default()
            .entry(id)
            .and_modify(|kept| {
                if role_key(role) < role_key(kept) {
                    *kept = role;
                }
            })
            .or_insert(role);
    }
    by_name
}

type RoleKey<'r> = (&'r str, &'r str, &'r str, &'r [String], &'r str);

fn role_key(role: &LiveRole) -> RoleKey<'_> {
    (
        role.service.as_str(),
        role.display_name.as_str(),
        role.description.as_str(),
        &role.actions,
        role.crn.as_str(),
    )
}

/// The update that makes `live` what `role` declares, if anything differs. Actions are
/// compared as sets: IBM keeps them in no promised order.
fn update(role: &DesiredRole, id: &RoleId, live: &LiveRole) -> Option<Change> {
    let old_actions: BTreeSet<&String> = live.actions.iter().collect();
    let actions_differ = old_actions.len() != role.actions.len()
        || !role.actions.iter().all(|a| old_actions.contains(a));
    let description = role
        .description
        .clone()
        .unwrap_or_else(|| live.description.clone());
    if !actions_differ && live.display_name == role.display_name && live.description == description
    {
        return None;
    }
    Some(Change::UpdateRole {
        role: role.name.clone(),
        role_id: id.clone(),
        service: role.service.clone(),
        display_name: role.display_name.clone(),
        description,
        actions: role.actions.iter().cloned().collect(),
        old_display_name: live.display_name.clone(),
        old_description: live.description.clone(),
        old_actions: old_actions.into_iter().cloned().collect(),
    })
}
