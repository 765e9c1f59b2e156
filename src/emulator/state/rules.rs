//! Dynamic rules of an access group and the members they produce, at rest
//! (docs/emulator.md, The state file).
//!
//! The emulator stores rules but never evaluates them: nobody logs in through an ID
//! provider here. The members a rule would produce are written in the state file as
//! group members with `membership_type: dynamic`.

use serde::{Deserialize, Serialize};

/// How a member belongs to a group: added explicitly (`static`, the default) or by a
/// dynamic rule at login (`dynamic`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MembershipType {
    #[default]
    Static,
    Dynamic,
}

impl MembershipType {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipType::Static => "static",
            MembershipType::Dynamic => "dynamic",
        }
    }

    pub fn is_static(&self) -> bool {
        *self == MembershipType::Static
    }
}

/// The operators IBM accepts in a rule condition.
pub const OPERATORS: [&str; 6] = [
    "EQUALS",
    "EQUALS_IGNORE_CASE",
    "IN",
    "NOT_EQUALS",
    "NOT_EQUALS_IGNORE_CASE",
    "CONTAINS",
];

/// At most this many rules per access group (IBM's limit).
pub const MAX_RULES_PER_GROUP: usize = 5;

/// One condition: a claim of the login's `ext` claims, an operator, and a value that IBM
/// stores as stringified JSON (`"\"ml\""`), kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub claim: String,
    pub operator: String,
    pub value: String,
}

/// A dynamic rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `ClaimRule-<uuid>`; minted at load when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Optional; not unique (IBM does not say it is), empty when a replace left it out.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Session hours, 1 to 24.
    pub expiration: u32,
    /// The identity provider's URL.
    pub realm_name: String,
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by_id: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub revision: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What is wrong with a rule's content, if anything (the API refuses the same with 400).
pub fn rule_problem(expiration: u32, realm_name: &str, conditions: &[Condition]) -> Option<String> {
    if !(1..=24).contains(&expiration) {
        return Some(format!("expiration {expiration} must be 1 to 24 hours"));
    }
    if realm_name.trim().is_empty() {
        return Some("realm_name (the identity provider's URL) is required".into());
    }
    if conditions.is_empty() {
        return Some("a rule needs at least one condition".into());
    }
    for c in conditions {
        if c.claim.is_empty() || c.value.is_empty() {
            return Some("every condition needs a claim, an operator and a value".into());
        }
        if !OPERATORS.contains(&c.operator.as_str()) {
            return Some(format!(
                "operator {:?} is not one of {}",
                c.operator,
                OPERATORS.join(", ")
            ));
        }
    }
    None
}

/// The checks of one group's rules; problems are appended.
pub fn check(group: &str, rules: &[Rule], problems: &mut Vec<String>) {
    if rules.len() > MAX_RULES_PER_GROUP {
        problems.push(format!(
            "group {group}: {} rules exceed IBM's limit of {MAX_RULES_PER_GROUP} per group",
            rules.len()
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for rule in rules {
        if let Some(id) = &rule.id
            && !ids.insert(id.as_str())
        {
            problems.push(format!("group {group}: rule id {id} is listed twice"));
        }
        if let Some(p) = rule_problem(rule.expiration, &rule.realm_name, &rule.conditions) {
            problems.push(format!("group {group}: rule {:?}: {p}", rule.name));
        }
    }
}
