//! Dynamic rules: how users who log in through an ID provider (App ID, say) join an
//! access group. A rule names the provider's realm, a session length and conditions on
//! the login's claims; IBM evaluates it at each login, and the members it adds are
//! `dynamic`, never added or removed by membership calls (docs/reconciliation.md,
//! Dynamic rules).

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::string_id;

string_id!(
    /// A dynamic rule's id.
    RuleId
);

/// IBM's limit of dynamic rules per access group.
pub const MAX_RULES_PER_GROUP: usize = 5;
/// A rule's session length in hours: 1 to 24.
pub const RULE_EXPIRATION_HOURS: std::ops::RangeInclusive<u32> = 1..=24;

/// A condition's operator, as IBM names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleOperator {
    Equals,
    EqualsIgnoreCase,
    In,
    NotEquals,
    NotEqualsIgnoreCase,
    Contains,
}

impl RuleOperator {
    pub const ALL: [RuleOperator; 6] = [
        RuleOperator::Equals,
        RuleOperator::EqualsIgnoreCase,
        RuleOperator::In,
        RuleOperator::NotEquals,
        RuleOperator::NotEqualsIgnoreCase,
        RuleOperator::Contains,
    ];

    /// IBM's spelling: `EQUALS`, `CONTAINS`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            RuleOperator::Equals => "EQUALS",
            RuleOperator::EqualsIgnoreCase => "EQUALS_IGNORE_CASE",
            RuleOperator::In => "IN",
            RuleOperator::NotEquals => "NOT_EQUALS",
            RuleOperator::NotEqualsIgnoreCase => "NOT_EQUALS_IGNORE_CASE",
            RuleOperator::Contains => "CONTAINS",
        }
    }

    pub fn parse(s: &str) -> Option<RuleOperator> {
        RuleOperator::ALL.into_iter().find(|op| op.as_str() == s)
    }
}

impl fmt::Display for RuleOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One condition of a rule: the login's claim `claim` relates to `value` by `operator`.
///
/// `value` is what the file says (`ml`). IBM stores it as stringified JSON (`"\"ml\""`);
/// the client encodes and decodes at the wire, so both sides of a comparison hold the
/// plain value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RuleCondition {
    pub claim: String,
    pub operator: RuleOperator,
    pub value: String,
}

/// A rule as the file declares it (`groups.NAME.rules`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredRule {
    /// Unique within its group, ignoring case.
    pub name: String,
    /// The ID provider's realm (its URL).
    pub realm: String,
    /// 1 to 24; 24 when the file says nothing.
    pub expiration_hours: u32,
    /// Non-empty; all must hold.
    pub conditions: Vec<RuleCondition>,
}

/// A rule as `GET /v2/groups/{id}/rules` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveRule {
    pub id: RuleId,
    /// May be empty: IBM keeps rules without a name.
    pub name: String,
    pub realm: String,
    pub expiration_hours: u32,
    /// The conditions orgsync can read.
    pub conditions: Vec<RuleCondition>,
    /// Conditions it cannot (an operator IBM added since, no claim): the rule admits
    /// less than `conditions` say, so it matches nothing the file says. Left out of the
    /// serialised form when zero, so digests of readable rules are what they were.
    #[serde(skip_serializing_if = "is_zero")]
    pub unreadable_conditions: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl LiveRule {
    /// Whether the rule admits exactly whom `rule`'s conditions admit. Conditions
    /// compare as a set: all must hold, so neither their order nor a repeat changes it.
    pub fn same_conditions(&self, rule: &DesiredRule) -> bool {
        let set = |c: &[RuleCondition]| c.iter().cloned().collect::<BTreeSet<_>>();
        self.unreadable_conditions == 0 && set(&self.conditions) == set(&rule.conditions)
    }

    /// Whether this is `rule` as the file says it: the name (ignoring case), realm,
    /// session length and conditions. The one test the planner, the re-read after an
    /// ambiguous create and verification share.
    pub fn matches(&self, rule: &DesiredRule) -> bool {
        self.name.to_lowercase() == rule.name.to_lowercase()
            && self.realm == rule.realm
            && self.expiration_hours == rule.expiration_hours
            && self.same_conditions(rule)
    }
}
