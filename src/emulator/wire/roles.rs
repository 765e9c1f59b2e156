//! IAM Policy Management, the roles: `RoleCollection` (always its three lists), `Role`,
//! `CustomRole`, and the create and replace bodies (docs/ibm-api.md, Roles).

use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct RoleCollection {
    pub custom_roles: Vec<CustomRoleBody>,
    pub service_roles: Vec<RoleBody>,
    pub system_roles: Vec<RoleBody>,
}

#[derive(Serialize)]
pub struct RoleBody {
    pub display_name: String,
    pub description: String,
    pub actions: Vec<String>,
    pub crn: String,
}

#[derive(Serialize)]
pub struct CustomRoleBody {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub actions: Vec<String>,
    pub crn: String,
    pub name: String,
    pub account_id: String,
    pub service_name: String,
    pub created_at: String,
    pub created_by_id: String,
    pub last_modified_at: String,
    pub last_modified_by_id: String,
    pub href: String,
}

#[derive(Deserialize)]
pub struct CreateRoleRequest {
    pub display_name: Option<String>,
    pub actions: Option<Vec<String>>,
    pub name: Option<String>,
    pub account_id: Option<String>,
    pub service_name: Option<String>,
    pub description: Option<String>,
}

#[derive(Deserialize)]
pub struct ReplaceRoleRequest {
    pub display_name: Option<String>,
    pub actions: Option<Vec<String>>,
    pub description: Option<String>,
    /// These three cannot change; sent with another value they are refused.
    pub name: Option<String>,
    pub account_id: Option<String>,
    pub service_name: Option<String>,
}
