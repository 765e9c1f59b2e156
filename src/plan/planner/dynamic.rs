//! The dynamic-rules phase (docs/reconciliation.md, Dynamic rules): for each managed
//! group whose `rules` the file gives, rules are matched by name ignoring case. A
//! differing realm, session length or set of conditions: `update_rule`; a declared rule
//! the group lacks: `create_rule`; a live rule the file does not name (an unnamed one
//! included): `remove_rule`. Then the warning IBM gives itself: a `CONTAINS` value that
//! is part of another group's on the same realm and claim admits that group's users too.

use std::collections::{BTreeMap, HashSet};

use crate::model::{
    DesiredRule, GroupName, LiveGroup, LiveRule, MAX_RULES_PER_GROUP, RuleId, RuleOperator,
};

use super::super::change::Change;
use super::super::error::PlanError;
use super::super::index::{ManagedGroup, live_rules};
use super::super::warning::{RuleRef, Warning};
use super::{Decisions, Planner};

impl<'a> Planner<'a> {
    /// Rules: create, update and remove per group; then the overlap warnings.
    pub(super) fn plan_rules(&mut self) -> Result<(), PlanError> {
        let mut any = false;
        for (_, group) in self.groups.iter() {
            let Some(declared) = group.rules else {
                continue;
            };
            any = true;
            let live = match group.live {
                None => Vec::new(),
                Some(lg) => live_rules(lg).ok_or_else(|| PlanError::RulesNotRead {
                    group: group.name.clone(),
                    group_id: lg.id.clone(),
                })?,
            };
            reconcile(group, declared, &live, &mut self.decided);
        }
        if any {
            self.warn_contains_overlaps();
        }
        Ok(())
    }

    /// Per (realm, claim), every pair of `CONTAINS` values of different groups where one
    /// is part of the other.
    fn warn_contains_overlaps(&mut self) {
        type Contains<'r> = (&'r GroupName, &'r str, &'r str);
        let mut by_claim: BTreeMap<(&str, &str), Vec<Contains<'_>>> = BTreeMap::new();
        for (_, group) in self.groups.iter() {
            for rule in group.rules.unwrap_or_default() {
                for condition in &rule.conditions {
                    if condition.operator == RuleOperator::Contains {
                        by_claim
                            .entry((rule.realm.as_str(), condition.claim.as_str()))
                            .or_default()
                            .push((&group.name, rule.name.as_str(), condition.value.as_str()));
                    }
                }
            }
        }
        for ((realm, claim), values) in by_claim {
            for &(group, rule, value) in &values {
                for &(other_group, other_rule, other_value) in &values {
                    if group != other_group && value != other_value && other_value.contains(value) {
                        self.decided.warnings.push(Warning::ContainsOverlap {
                            realm: realm.to_string(),
                            claim: claim.to_string(),
                            broad: rule_ref(group, rule, value),
                            narrow: rule_ref(other_group, other_rule, other_value),
                        });
                    }
                }
            }
        }
    }
}

fn rule_ref(group: &GroupName, rule: &str, value: &str) -> RuleRef {
    RuleRef {
        group: group.clone(),
        rule: rule.to_string(),
        value: value.to_string(),
    }
}

/// The changes that make the group's live rules what the file declares.
fn reconcile(
    group: &ManagedGroup<'_>,
    declared: &[DesiredRule],
    live: &[&LiveRule],
    decided: &mut Decisions<'_>,
) {
    // Named live rules by name ignoring case, in id order: of two with one name, the
    // first is matched and the other is a rule the file does not name.
    let mut by_name: BTreeMap<String, &LiveRule> = BTreeMap::new();
    for rule in live.iter().filter(|r| !r.name.is_empty()) {
        by_name.entry(rule.name.to_lowercase()).or_insert(rule);
    }
    let mut matched: HashSet<&RuleId> = HashSet::new();
    let mut creates = 0;
    for rule in declared {
        match (by_name.get(&rule.name.to_lowercase()), group.live) {
            (Some(found), Some(lg)) => {
                matched.insert(&found.id);
                if let Some(change) = update(group, lg, rule, found) {
                    decided.changes.push(change);
                }
            }
            _ => {
                creates += 1;
                decided.changes.push(Change::CreateRule {
                    group: group.name.clone(),
                    group_id: group.live.map(|lg| lg.id.clone()),
                    rule: rule.name.clone(),
                    realm: rule.realm.clone(),
                    expiration_hours: rule.expiration_hours,
                    conditions: rule.conditions.clone(),
                });
            }
        }
    }
    let Some(lg) = group.live else { return };
    let mut removes = 0;
    for rule in live.iter().filter(|r| !matched.contains(&r.id)) {
        removes += 1;
        decided.changes.push(Change::RemoveRule {
            group: group.name.clone(),
            group_id: lg.id.clone(),
            rule: rule.name.clone(),
            rule_id: rule.id.clone(),
        });
    }
    if removes > 0 && live.len() + creates > MAX_RULES_PER_GROUP {
        decided.warnings.push(Warning::RuleLimitDuringApply {
            group: group.name.clone(),
            live: live.len(),
            creates,
            removes,
        });
    }
}

/// The replacement of `live` by `rule`, if realm, session length or conditions differ
/// (conditions as a set, and a condition orgsync cannot read always differs:
/// [`LiveRule::same_conditions`]). A name differing only in case is not a difference.
fn update(
    group: &ManagedGroup<'_>,
    lg: &LiveGroup,
    rule: &DesiredRule,
    live: &LiveRule,
) -> Option<Change> {
    let same_conditions = live.same_conditions(rule);
    let old_realm = (live.realm != rule.realm).then(|| live.realm.clone());
    let old_expiration_hours =
        (live.expiration_hours != rule.expiration_hours).then_some(live.expiration_hours);
    let old_conditions = (!same_conditions).then(|| live.conditions.clone());
    if old_realm.is_none() && old_expiration_hours.is_none() && old_conditions.is_none() {
        return None;
    }
    Some(Change::UpdateRule {
        group: group.name.clone(),
        group_id: lg.id.clone(),
        rule: rule.name.clone(),
        rule_id: live.id.clone(),
        realm: rule.realm.clone(),
        expiration_hours: rule.expiration_hours,
        conditions: rule.conditions.clone(),
        old_realm,
        old_expiration_hours,
        old_conditions,
    })
}
