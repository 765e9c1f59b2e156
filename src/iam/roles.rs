//! Roles (`/v2/roles`): the platform, service and custom roles of a service, read to map
//! the file's role names to the CRNs policies carry; and the custom roles the file
//! declares, created and replaced (docs/ibm-api.md, Roles).

use std::collections::BTreeSet;

use reqwest::{Method, Url};
use serde_json::{Value, json};

use super::error::IamError;
use super::http::{Request, Retry};
use super::wire_access::{Role, RoleCollection};
use super::{Client, join};
use crate::model::{
    AccountId, DesiredRole, LiveRole, RoleCrn, RoleId, RoleKind, RoleName, ServiceName,
};

const LIST_ROUTE: &str = "GET /v2/roles";
const CREATE_ROUTE: &str = "POST /v2/roles";
const GET_ROUTE: &str = "GET /v2/roles/{role_id}";
const PUT_ROUTE: &str = "PUT /v2/roles/{role_id}";

/// A custom role as the create call answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedRole {
    pub id: RoleId,
    pub crn: Option<RoleCrn>,
    /// `None` when a re-read found that an earlier, unanswered attempt had landed.
    pub transaction_id: Option<String>,
}

impl Client {
    /// The roles of `service` that an account's policies may grant: its platform roles
    /// (`system_roles`), service roles (`service_roles`) and the account's custom roles
    /// of that service (`custom_roles`). One unpaged call.
    pub async fn list_roles(
        &self,
        account: &AccountId,
        service: &ServiceName,
    ) -> Result<Vec<LiveRole>, IamError> {
        self.list_roles_with(account, service, false).await
    }

    pub(crate) async fn list_roles_with(
        &self,
        account: &AccountId,
        service: &ServiceName,
        bulk: bool,
    ) -> Result<Vec<LiveRole>, IamError> {
        let url = join(
            &self.inner.endpoints.iam,
            &["v2", "roles"],
            &[
                ("account_id", account.as_str()),
                ("service_name", service.as_str()),
            ],
        );
        let mut req = Request::new(Method::GET, LIST_ROUTE, url, Retry::Idempotent);
        req.bulk = bulk;
        let reply = self.send(&req).await?;
        let list: RoleCollection = reply.json(LIST_ROUTE)?;
        let mut out = Vec::new();
        let kinds = [
            (list.system_roles, Kind::Platform),
            (list.service_roles, Kind::Service),
            (list.custom_roles, Kind::Custom),
        ];
        for (roles, kind) in kinds {
            for role in roles {
                if let Some(live) = live_role(role, kind, service)
                    && !out.iter().any(|r: &LiveRole| r.crn == live.crn)
                {
                    out.push(live);
                }
            }
        }
        Ok(out)
    }

    /// Creates a custom role: one call, retried only where IBM cannot have acted on it.
    /// After an ambiguous failure the caller re-reads the service's roles; a 409
    /// `role_conflict_error` says the name is taken (the re-read tells by whom).
    pub async fn create_role(
        &self,
        account: &AccountId,
        role: &DesiredRole,
    ) -> Result<CreatedRole, IamError> {
        let url = join(&self.inner.endpoints.iam, &["v2", "roles"], &[]);
        let mut body = json!({
            "name": role.name.as_str(),
            "display_name": role.display_name,
            "actions": role.actions.iter().collect::<Vec<_>>(),
            "account_id": account.as_str(),
            "service_name": role.service.as_str(),
        });
        if let Some(d) = &role.description {
            body["description"] = json!(d);
        }
        let req = Request::new(Method::POST, CREATE_ROUTE, url, Retry::SafeOnly).json(body);
        let reply = self.send(&req).await?;
        let created: Role = reply.json(CREATE_ROUTE)?;
        let Some(id) = created.id.filter(|i| !i.trim().is_empty()) else {
            return Err(IamError::Malformed {
                call: CREATE_ROUTE.into(),
                detail: "the created role has no id".into(),
                transaction_id: reply.transaction_id,
            });
        };
        Ok(CreatedRole {
            id: RoleId::new(id),
            crn: created.crn.map(RoleCrn::new),
            transaction_id: reply.transaction_id,
        })
    }

    /// Replaces a custom role's display name, description and actions: GET for the ETag,
    /// PUT with `If-Match` (name, account and service cannot change). A `description` of
    /// `None` keeps the live one. Nothing is sent when the role already is so
    /// (`Ok(None)`); a 412 re-reads, and is success when the role now is so.
    pub async fn update_role(
        &self,
        id: &RoleId,
        role: &DesiredRole,
    ) -> Result<Option<String>, IamError> {
        let url = join(
            &self.inner.endpoints.iam,
            &["v2", "roles", id.as_str()],
            &[],
        );
        let (etag, current) = self.get_role(&url).await?;
        let description = role
            .description
            .clone()
            .or_else(|| current.description.clone())
            .unwrap_or_default();
        if holds(&current, role, &description) {
            return Ok(None);
        }
        let mut body = json!({
            "display_name": role.display_name,
            "actions": role.actions.iter().collect::<Vec<_>>(),
        });
        if !description.is_empty() {
            body["description"] = Value::String(description.clone());
        }
        let mut put =
            Request::new(Method::PUT, PUT_ROUTE, url.clone(), Retry::Idempotent).json(body);
        put.if_match = Some(etag);
        match self.send(&put).await {
            Ok(reply) => Ok(reply.transaction_id),
            Err(e) if e.status() == Some(412) => {
                let (_, now) = self.get_role(&url).await?;
                if holds(&now, role, &description) {
                    Ok(e.info().transaction_id)
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn get_role(&self, url: &Url) -> Result<(String, Role), IamError> {
        let req = Request::new(Method::GET, GET_ROUTE, url.clone(), Retry::Idempotent);
        let reply = self.send(&req).await?;
        let role: Role = reply.json(GET_ROUTE)?;
        Ok((reply.etag.unwrap_or_else(|| "*".into()), role))
    }
}

/// Whether the live role already is what `role` says (actions as a set).
fn holds(live: &Role, role: &DesiredRole, description: &str) -> bool {
    let actions: BTreeSet<String> = live.action_ids().into_iter().collect();
    live.display_name.as_deref() == Some(role.display_name.as_str())
        && live.description.as_deref().unwrap_or("") == description
        && actions == role.actions
}

#[derive(Clone, Copy)]
enum Kind {
    Platform,
    Service,
    Custom,
}

/// A listed role; `None` without a CRN (nothing could grant it) or, for a custom role,
/// without an id or name.
fn live_role(role: Role, kind: Kind, listed_for: &ServiceName) -> Option<LiveRole> {
    let crn = role
        .crn
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())?;
    let display_name = role.display_name.clone().unwrap_or_default();
    let actions = role.action_ids();
    let (name, kind, service) = match kind {
        Kind::Platform => (display_name.clone(), RoleKind::Platform, listed_for.clone()),
        Kind::Service => (display_name.clone(), RoleKind::Service, listed_for.clone()),
        Kind::Custom => {
            let id = role.id.clone().filter(|i| !i.trim().is_empty())?;
            let name = role.name.clone().filter(|n| !n.trim().is_empty())?;
            let service = role
                .service_name
                .clone()
                .filter(|s| !s.is_empty())
                .map_or_else(|| listed_for.clone(), ServiceName::new);
            (
                name,
                RoleKind::Custom {
                    id: RoleId::new(id),
                },
                service,
            )
        }
    };
    if name.is_empty() {
        return None;
    }
    Some(LiveRole {
        crn: RoleCrn::new(crn),
        name: RoleName::new(name),
        display_name,
        description: role.description.unwrap_or_default(),
        actions,
        service,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_role_list_mock_parses_into_one_role_of_each_kind() {
        let body = r#"{"custom_roles": [{"id": "id", "display_name": "display_name", "description": "description", "actions": ["actions"], "crn": "crn", "name": "Developer", "account_id": "account_id", "service_name": "iam-groups", "created_at": "2019-01-01T12:00:00.000Z", "created_by_id": "created_by_id", "last_modified_at": "2019-01-01T12:00:00.000Z", "last_modified_by_id": "last_modified_by_id", "href": "href"}], "service_roles": [{"display_name": "display_name", "description": "description", "actions": ["actions"], "crn": "crn2"}], "system_roles": [{"display_name": "Viewer", "description": "description", "actions": ["actions"], "crn": "crn:v1:bluemix:public:iam::::role:Viewer"}]}"#;
        let list: RoleCollection = serde_json::from_str(body).unwrap();
        let service = ServiceName::new("quantum-computing");
        let custom = live_role(
            list.custom_roles.into_iter().next().unwrap(),
            Kind::Custom,
            &service,
        )
        .unwrap();
        assert_eq!(custom.name.as_str(), "Developer");
        assert_eq!(custom.service.as_str(), "iam-groups");
        assert_eq!(
            custom.kind,
            RoleKind::Custom {
                id: RoleId::new("id")
            }
        );
        assert_eq!(custom.actions, ["actions"]);
        let viewer = live_role(
            list.system_roles.into_iter().next().unwrap(),
            Kind::Platform,
            &service,
        )
        .unwrap();
        assert_eq!(
            (viewer.name.as_str(), viewer.kind),
            ("Viewer", RoleKind::Platform)
        );
        let reader = live_role(
            list.service_roles.into_iter().next().unwrap(),
            Kind::Service,
            &service,
        )
        .unwrap();
        assert_eq!(reader.name.as_str(), "display_name");
        assert_eq!(reader.service, service);
    }

    #[test]
    fn roles_without_crn_or_custom_roles_without_id_are_dropped() {
        let service = ServiceName::new("s");
        let no_crn = Role {
            display_name: Some("Viewer".into()),
            ..Role::default()
        };
        assert!(live_role(no_crn, Kind::Platform, &service).is_none());
        let no_id = Role {
            name: Some("JobManager".into()),
            crn: Some("crn".into()),
            ..Role::default()
        };
        assert!(live_role(no_id, Kind::Custom, &service).is_none());
    }

    #[test]
    fn a_role_holds_when_display_name_description_and_action_set_match() {
        let live: Role = serde_json::from_value(json!({
            "display_name": "Job manager", "description": "d",
            "actions": ["b", {"id": "a"}]
        }))
        .unwrap();
        let mut wanted = DesiredRole {
            name: RoleName::new("JobManager"),
            service: ServiceName::new("quantum-computing"),
            display_name: "Job manager".into(),
            description: None,
            actions: ["a".to_string(), "b".to_string()].into(),
        };
        assert!(holds(&live, &wanted, "d"));
        assert!(!holds(&live, &wanted, ""));
        wanted.actions.insert("c".into());
        assert!(!holds(&live, &wanted, "d"));
    }
}
