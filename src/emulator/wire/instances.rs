//! Resource Controller: `ResourceInstancesList` and `ResourceInstance`, as IBM's SDK
//! models name their fields (docs/ibm-api.md). Unknown values are `null`, as IBM sends
//! them.

use serde::Serialize;

#[derive(Serialize)]
pub struct ResourceInstancesList {
    pub rows_count: usize,
    /// A relative path with an opaque `start`, or `null` on the last page.
    pub next_url: Option<String>,
    pub resources: Vec<InstanceBody>,
}

#[derive(Serialize)]
pub struct InstanceBody {
    pub id: String,
    pub guid: String,
    pub url: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub deleted_at: Option<String>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub deleted_by: Option<String>,
    pub scheduled_reclaim_at: Option<String>,
    pub restored_at: Option<String>,
    pub restored_by: Option<String>,
    pub scheduled_reclaim_by: Option<String>,
    pub name: String,
    pub region_id: String,
    pub account_id: String,
    pub reseller_channel_id: Option<String>,
    pub resource_plan_id: String,
    pub resource_group_id: String,
    pub resource_group_crn: String,
    pub target_crn: String,
    pub allow_cleanup: bool,
    pub crn: String,
    pub state: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub sub_type: Option<String>,
    pub resource_id: String,
    pub dashboard_url: Option<String>,
    pub last_operation: LastOperation,
    pub resource_aliases_url: String,
    pub resource_bindings_url: String,
    pub resource_keys_url: String,
    pub plan_history: Vec<serde_json::Value>,
    pub migrated: bool,
    pub controlled_by: Option<String>,
    pub locked: bool,
    pub onetime_credentials: bool,
}

/// What last happened to an instance. IBM's integration tests read `type`, `async` and
/// `state` on every instance they get (docs/ibm-api.md, Resource Controller).
#[derive(Serialize)]
pub struct LastOperation {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub state: &'static str,
    #[serde(rename = "async")]
    pub is_async: bool,
    pub description: String,
    pub cancelable: bool,
    pub poll: bool,
}
