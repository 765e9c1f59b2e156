//! Resource Manager: `ResourceGroupList` (unpaged, `resources` only) and `ResourceGroup`,
//! as IBM's SDK models name their fields (docs/ibm-api.md).

use serde::Serialize;

#[derive(Serialize)]
pub struct ResourceGroupList {
    pub resources: Vec<ResourceGroupBody>,
}

#[derive(Serialize)]
pub struct ResourceGroupBody {
    pub id: String,
    pub crn: String,
    pub account_id: String,
    pub name: String,
    pub state: String,
    pub default: bool,
    pub quota_id: String,
    pub quota_url: String,
    pub payment_methods_url: Option<String>,
    pub resource_linkages: Vec<serde_json::Value>,
    pub teams_url: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}
