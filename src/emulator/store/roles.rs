//! IAM Policy Management, the roles: the built-in roles per service (from
//! [`catalog`]) and the account's custom roles — create, read, replace (with
//! `If-Match`), delete — with IBM's rules for names, actions and the limit of 40.

use super::policies::check_if_match;
use super::{Actor, ApiError, Store};
use crate::emulator::catalog::{self, BuiltinRole};
use crate::emulator::clock;
use crate::emulator::ids;
use crate::emulator::state::{CustomRole, MAX_CUSTOM_ROLES};

/// A role as a listing or an enriched policy shows it.
#[derive(Clone, Debug)]
pub struct RoleView {
    pub crn: String,
    pub display_name: String,
    pub description: String,
    pub actions: Vec<String>,
}

impl RoleView {
    fn builtin(role: &BuiltinRole, service: Option<&str>) -> RoleView {
        RoleView {
            crn: role.crn.to_string(),
            display_name: role.display_name.to_string(),
            description: role.description.to_string(),
            actions: catalog::role_actions(service, role.display_name),
        }
    }
}

/// The answer of `GET /v2/roles`: always three lists.
pub struct RoleListing<'a> {
    pub custom: Vec<&'a CustomRole>,
    pub service: Vec<RoleView>,
    pub system: Vec<RoleView>,
}

/// What `GET /v2/roles` filters by.
pub enum RoleScope<'a> {
    /// No `service_name` and no `service_group_id`: the platform roles and every custom
    /// role.
    Everything,
    Service(&'a str),
    ServiceGroup(&'a str),
}

/// What a custom role create asks for.
pub struct RoleDraft {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub service_name: String,
    pub actions: Vec<String>,
}

/// What a custom role replace asks for: the three fields that may change.
pub struct RoleUpdate {
    pub display_name: String,
    pub description: String,
    pub actions: Vec<String>,
}

/// Why a role write is refused: an error, or a name (`field`: `name` or `display_name`)
/// already used by another role (the routes write the 409 with that role).
#[derive(Debug)]
pub enum RoleRefusal {
    Error(ApiError),
    Conflict {
        role: Box<CustomRole>,
        field: &'static str,
    },
}

impl From<ApiError> for RoleRefusal {
    fn from(e: ApiError) -> RoleRefusal {
        RoleRefusal::Error(e)
    }
}

/// The ETag of a custom role: `<revision>-<32 hex>`.
pub fn role_etag(role: &CustomRole) -> String {
    let text = serde_json::to_vec(role).unwrap_or_default();
    let d = ids::digest(&[b"role-etag", &text]);
    format!("{}-{}", role.revision.max(1), ids::hex(&d[..16]))
}

pub fn role_not_found(id: &str) -> ApiError {
    ApiError::new(
        404,
        "role_not_found",
        format!("Role with Id {id} not found."),
    )
}

impl Store {
    pub fn custom_role_crn(&self, role: &CustomRole) -> String {
        catalog::custom_role_crn(&self.account_id, &role.name)
    }

    pub fn custom_role_by_crn(&self, crn: &str) -> Option<&CustomRole> {
        self.roles.iter().find(|r| self.custom_role_crn(r) == crn)
    }

    /// Whether IAM knows a service: a built-in one (`quantum-computing`, IAM's own), or
    /// one the account names (by an instance, a custom role or a policy it was loaded with).
    pub fn known_service(&self, name: &str) -> bool {
        name == catalog::QUANTUM
            || catalog::IAM_SERVICES.contains(&name)
            || self.services.contains(name)
    }

    /// A role by CRN as a policy shows it (`display_name`, `description`, `actions`);
    /// `None` for a CRN nobody knows.
    pub fn role_view(&self, crn: &str, service: Option<&str>) -> Option<RoleView> {
        if let Some(b) = catalog::builtin_by_crn(crn) {
            return Some(RoleView::builtin(b, service));
        }
        self.custom_role_by_crn(crn).map(|r| RoleView {
            crn: crn.to_string(),
            display_name: r.display_name.clone(),
            description: r.description.clone(),
            actions: r.actions.clone(),
        })
    }

    /// `GET /v2/roles`.
    pub fn list_roles(&self, scope: &RoleScope<'_>) -> Result<RoleListing<'_>, ApiError> {
        let system = |service| {
            catalog::SYSTEM_ROLES
                .iter()
                .map(|r| RoleView::builtin(r, service))
                .collect()
        };
        let service_roles = |service| {
            catalog::SERVICE_ROLES
                .iter()
                .map(|r| RoleView::builtin(r, service))
                .collect::<Vec<_>>()
        };
        Ok(match scope {
            RoleScope::Everything => RoleListing {
                custom: self.roles.iter().collect(),
                service: Vec::new(),
                system: system(None),
            },
            RoleScope::Service(s) if *s == catalog::ALL_IAM_SERVICE_ROLES => RoleListing {
                custom: Vec::new(),
                service: service_roles(None),
                system: system(None),
            },
            RoleScope::Service(s) => RoleListing {
                custom: self.roles.iter().filter(|r| r.service_name == *s).collect(),
                service: service_roles(Some(s)),
                system: system(Some(s)),
            },
            RoleScope::ServiceGroup(g) if *g == catalog::IAM_SERVICE_GROUP => {
                let mut service = service_roles(None);
                service.extend(
                    catalog::IAM_GROUP_ROLES
                        .iter()
                        .map(|r| RoleView::builtin(r, None)),
                );
                RoleListing {
                    custom: Vec::new(),
                    service,
                    system: system(None),
                }
            }
            RoleScope::ServiceGroup(g) => {
                return Err(ApiError::invalid_parameter(format!(
                    "service_group_id {g:?} is not a service group; the emulator knows {}.",
                    catalog::IAM_SERVICE_GROUP
                )));
            }
        })
    }

    pub fn custom_role(&self, id: &str) -> Result<&CustomRole, ApiError> {
        self.role_pos
            .get(id)
            .and_then(|i| self.roles.get(*i))
            .ok_or_else(|| role_not_found(id))
    }

    /// `POST /v2/roles`.
    pub fn create_role(
        &mut self,
        actor: &Actor,
        draft: RoleDraft,
        now_ms: u64,
    ) -> Result<CustomRole, RoleRefusal> {
        if !catalog::is_custom_role_name(&draft.name) {
            return Err(ApiError::invalid_body(format!(
                "Role name {:?} is invalid: it must be alphanumeric and capitalized (a capital letter, then letters or digits, at most 30 characters).",
                draft.name
            ))
            .into());
        }
        if !self.known_service(&draft.service_name) {
            return Err(ApiError::invalid_body(format!(
                "Service {:?} is not an IAM-enabled service of this account.",
                draft.service_name
            ))
            .into());
        }
        let lower = draft.name.to_lowercase();
        if let Some(other) = self.roles.iter().find(|r| r.name.to_lowercase() == lower) {
            return Err(RoleRefusal::Conflict {
                role: Box::new(other.clone()),
                field: "name",
            });
        }
        self.check_role_content(
            &draft.service_name,
            &draft.display_name,
            &draft.description,
            &draft.actions,
            None,
        )?;
        if self.roles.len() >= MAX_CUSTOM_ROLES {
            return Err(ApiError::new(
                400,
                "request_not_processed",
                format!(
                    "Account {} already has {MAX_CUSTOM_ROLES} custom roles, IBM's limit.",
                    self.account_id
                ),
            )
            .into());
        }
        let id = self.mint_id(
            |s, n| role_id(&s.account_id, &draft.name, n),
            |s, id| s.role_pos.contains_key(id),
        );
        let now = clock::iso(now_ms);
        let role = CustomRole {
            id: Some(id.clone()),
            name: draft.name,
            display_name: draft.display_name,
            description: draft.description,
            service_name: draft.service_name,
            actions: draft.actions,
            created_at: Some(now.clone()),
            created_by_id: Some(actor.iam_id.clone()),
            last_modified_at: Some(now),
            last_modified_by_id: Some(actor.iam_id.clone()),
            revision: 1,
        };
        self.role_pos.insert(id, self.roles.len());
        self.roles.push(role.clone());
        self.dirty = true;
        Ok(role)
    }

    /// `PUT /v2/roles/{id}`: display name, description and actions, with `If-Match`.
    pub fn replace_role(
        &mut self,
        actor: &Actor,
        id: &str,
        if_match: Option<&str>,
        update: RoleUpdate,
        now_ms: u64,
    ) -> Result<CustomRole, RoleRefusal> {
        let pos = *self.role_pos.get(id).ok_or_else(|| role_not_found(id))?;
        let current = self.roles.get(pos).ok_or_else(|| role_not_found(id))?;
        check_if_match(&format!("role {id}"), if_match, &role_etag(current))?;
        let service = current.service_name.clone();
        let RoleUpdate {
            display_name,
            description,
            actions,
        } = update;
        self.check_role_content(&service, &display_name, &description, &actions, Some(pos))?;
        let Some(role) = self.roles.get_mut(pos) else {
            return Err(role_not_found(id).into());
        };
        role.display_name = display_name;
        role.description = description;
        role.actions = actions;
        role.revision = role.revision.max(1) + 1;
        role.last_modified_at = Some(clock::iso(now_ms));
        role.last_modified_by_id = Some(actor.iam_id.clone());
        self.dirty = true;
        Ok(role.clone())
    }

    /// `DELETE /v2/roles/{id}`. Decision: a role that active policies grant is refused
    /// with 409, so no policy is left with a role nobody knows.
    pub fn delete_role(&mut self, id: &str) -> Result<(), ApiError> {
        let pos = *self.role_pos.get(id).ok_or_else(|| role_not_found(id))?;
        let crn = self
            .roles
            .get(pos)
            .map(|r| self.custom_role_crn(r))
            .unwrap_or_default();
        let used = self.policies_granting(&crn);
        if used > 0 {
            return Err(ApiError::new(
                409,
                "role_in_use",
                format!("Role {id} is granted by {used} policies; remove it from them first."),
            ));
        }
        self.roles.remove(pos);
        self.reindex_roles();
        self.dirty = true;
        Ok(())
    }

    /// Display name 1-50, description at most 250, 1 or more actions, all of the role's
    /// service, none twice; the display name unique among the service's roles (built-in
    /// ones included), so a name → CRN lookup by display name is never ambiguous.
    fn check_role_content(
        &self,
        service: &str,
        display_name: &str,
        description: &str,
        actions: &[String],
        except: Option<usize>,
    ) -> Result<(), RoleRefusal> {
        let n = display_name.chars().count();
        if n == 0 || n > 50 {
            return Err(
                ApiError::invalid_body("The display_name must be 1 to 50 characters.").into(),
            );
        }
        if description.chars().count() > 250 {
            return Err(
                ApiError::invalid_body("The description must be at most 250 characters.").into(),
            );
        }
        if actions.is_empty() {
            return Err(ApiError::invalid_body(format!(
                "A custom role needs at least one action of {service}."
            ))
            .into());
        }
        let mut seen = std::collections::HashSet::with_capacity(actions.len());
        for action in actions {
            if !seen.insert(action) {
                return Err(
                    ApiError::invalid_body(format!("Action {action} is listed twice.")).into(),
                );
            }
            if !catalog::is_action_of(service, action) {
                return Err(ApiError::invalid_body(format!(
                    "{action} is not an action of {service}; list them with GET /v2/roles?service_name={service}."
                ))
                .into());
            }
        }
        let builtin = catalog::builtin_by_name(display_name).is_some();
        let taken = self.roles.iter().enumerate().find(|(i, r)| {
            Some(*i) != except && r.service_name == service && r.display_name == display_name
        });
        if builtin {
            return Err(ApiError::invalid_body(format!(
                "The display name {display_name:?} is a built-in role's."
            ))
            .into());
        }
        if let Some((_, other)) = taken {
            return Err(RoleRefusal::Conflict {
                role: Box::new(other.clone()),
                field: "display_name",
            });
        }
        Ok(())
    }

    pub(super) fn reindex_roles(&mut self) {
        self.role_pos = self
            .roles
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.id.clone().map(|id| (id, i)))
            .collect();
    }
}

/// A custom role id: the hex encoding of `customRole-<32 hex>-<name>`, as IBM's are.
pub(super) fn role_id(account_id: &str, name: &str, salt: &[u8]) -> String {
    let d = ids::digest(&[b"custom-role", account_id.as_bytes(), name.as_bytes(), salt]);
    let text = format!("customRole-{}-{name}", ids::hex(&d[..16]));
    ids::hex(text.as_bytes())
}

impl Store {
    /// Loads one custom role of the state, filling in what a hand-written one leaves out.
    pub(super) fn load_role(&mut self, mut role: CustomRole, now: &str) {
        if self
            .roles
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(&role.name))
        {
            return;
        }
        let id = role
            .id
            .get_or_insert_with(|| role_id(&self.account_id, &role.name, b"state"))
            .clone();
        if self.role_pos.contains_key(&id) {
            return;
        }
        role.revision = role.revision.max(1);
        role.created_at.get_or_insert_with(|| now.to_string());
        let created = role.created_at.clone();
        role.last_modified_at = role.last_modified_at.take().or(created);
        self.services.insert(role.service_name.clone());
        self.role_pos.insert(id, self.roles.len());
        self.roles.push(role);
    }
}
