//! IAM Access Groups v2, the dynamic rules: `Rule`, `RulesList` (unpaged) and the create
//! and replace body, as IBM's SDK models name their fields (docs/ibm-api.md).

use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct RuleBody {
    pub id: String,
    pub name: String,
    pub expiration: u32,
    pub realm_name: String,
    pub access_group_id: String,
    pub account_id: String,
    pub conditions: Vec<ConditionBody>,
    pub created_at: String,
    pub created_by_id: String,
    pub last_modified_at: String,
    pub last_modified_by_id: String,
}

#[derive(Serialize)]
pub struct ConditionBody {
    pub claim: String,
    pub operator: String,
    pub value: String,
}

#[derive(Serialize)]
pub struct RulesList {
    pub rules: Vec<RuleBody>,
}

#[derive(Deserialize)]
pub struct RuleRequest {
    pub name: Option<String>,
    pub expiration: Option<u32>,
    pub realm_name: Option<String>,
    pub conditions: Option<Vec<ConditionIn>>,
}

#[derive(Deserialize)]
pub struct ConditionIn {
    pub claim: Option<String>,
    pub operator: Option<String>,
    /// Opaque text (IBM stores stringified JSON); a JSON string only.
    pub value: Option<String>,
}
