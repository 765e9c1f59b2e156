//! The rules for a group's dynamic rules (docs/config.md, rules) → [`DesiredRule`]: a
//! name unique in the group ignoring case, a realm that is a URL, 1 to 24 hours, at least
//! one condition with one of IBM's operators, at most five rules a group.

use std::collections::HashMap;

use crate::model::{DesiredRule, MAX_RULES_PER_GROUP, RuleCondition, RuleOperator};

use super::super::diagnostics::{Diagnostic, Loc};
use super::super::raw::{RawCondition, RawRule, Sp};
use super::{Validator, closest, first_place, text, visible};

/// A session lasts a day unless the rule says otherwise (IBM's default).
const DEFAULT_EXPIRATION_HOURS: u32 = 24;

impl Validator<'_> {
    pub(super) fn rules(&mut self, group: &str, raw: &Sp<Vec<Sp<RawRule>>>) -> Vec<DesiredRule> {
        if let Some(extra) = raw.value.get(MAX_RULES_PER_GROUP) {
            self.diags.push(
                Diagnostic::new(
                    format!("group `{group}` has {} dynamic rules", raw.value.len()),
                    extra.loc,
                    format!("rule number {}", MAX_RULES_PER_GROUP + 1),
                )
                .hint(format!(
                    "IBM allows at most {MAX_RULES_PER_GROUP} dynamic rules per access group; \
                     merge conditions into fewer rules"
                )),
            );
        }
        let mut seen: HashMap<String, Loc> = HashMap::new();
        let mut out = Vec::new();
        for rule in &raw.value {
            let context = format!(
                "rule `{}` of group `{group}`",
                visible(&rule.value.name.value)
            );
            let name = self.rule_name(group, &rule.value.name, &mut seen);
            let realm = self.realm(&context, &rule.value.realm);
            let conditions = self.conditions(&context, &rule.value.conditions);
            if let (Some(name), Some(realm)) = (name, realm) {
                out.push(DesiredRule {
                    name,
                    realm,
                    expiration_hours: rule
                        .value
                        .expiration_hours
                        .as_ref()
                        .map_or(DEFAULT_EXPIRATION_HOURS, |h| h.value),
                    conditions,
                });
            }
        }
        out
    }

    fn rule_name(
        &mut self,
        group: &str,
        name: &Sp<String>,
        seen: &mut HashMap<String, Loc>,
    ) -> Option<String> {
        name.loc.pos?;
        if let Some(problem) = text::name_problem(&name.value) {
            self.diags.push(
                Diagnostic::new(
                    format!("rule name `{}` in group `{group}` {problem}", visible(&name.value)),
                    name.loc,
                    "not a rule name",
                )
                .hint("give each rule a name, single ordinary spaces between words, e.g. `name: ml-project`"),
            );
            return None;
        }
        if let Some(first) = first_place(seen, name.value.to_lowercase(), name.loc) {
            self.diags.push(
                Diagnostic::twice(
                    format!("group `{group}` has two rules named `{}`", name.value),
                    name.loc,
                    first,
                    "named",
                )
                .hint("rules are matched by name, compared ignoring case: rename or merge one of them"),
            );
            return None;
        }
        Some(name.value.clone())
    }

    /// The ID provider's realm: an `https://` (or `http://`) URL with a host.
    fn realm(&mut self, context: &str, realm: &Sp<String>) -> Option<String> {
        realm.loc.pos?;
        let value = realm.value.as_str();
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        let problem = match (rest, host) {
            _ if value.chars().any(|c| c.is_whitespace() || c.is_control()) => "contains a space",
            (None, _) => "does not start with `https://`",
            (_, Some("")) | (_, None) => "has no host after `https://`",
            _ => return Some(value.to_string()),
        };
        self.diags.push(
            Diagnostic::new(
                format!("the `realm` of {context} is not a URL: it {problem}"),
                realm.loc,
                "expected the ID provider's URL",
            )
            .hint("the realm is the ID provider's URL, e.g. App ID's `https://us-south.appid.cloud.ibm.com/oauth/v4/<tenant-id>`"),
        );
        None
    }

    fn conditions(&mut self, context: &str, raw: &Sp<Vec<Sp<RawCondition>>>) -> Vec<RuleCondition> {
        if raw.loc.pos.is_some() && raw.value.is_empty() {
            self.diags.push(
                Diagnostic::new(format!("{context} has no conditions"), raw.loc, "empty list")
                    .hint("a rule needs at least one condition, e.g. `- {claim: project, operator: CONTAINS, value: ml}`"),
            );
        }
        raw.value
            .iter()
            .filter_map(|c| self.condition(context, &c.value))
            .collect()
    }

    fn condition(&mut self, context: &str, raw: &RawCondition) -> Option<RuleCondition> {
        let claim = raw
            .claim
            .loc
            .pos
            .and_then(|_| match text::name_problem(&raw.claim.value) {
                None => Some(raw.claim.value.clone()),
                Some(problem) => {
                    self.diags.push(
                        Diagnostic::new(
                            format!("a claim of {context} {problem}"),
                            raw.claim.loc,
                            "not a claim name",
                        )
                        .hint("name the claim as the ID provider sends it, e.g. `claim: project`"),
                    );
                    None
                }
            });
        let operator = raw
            .operator
            .loc
            .pos
            .and_then(|_| self.operator(context, &raw.operator));
        raw.value.loc.pos?;
        Some(RuleCondition {
            claim: claim?,
            operator: operator?,
            value: raw.value.value.clone(),
        })
    }

    /// One of IBM's operator names, exactly; a near miss gets "did you mean".
    fn operator(&mut self, context: &str, raw: &Sp<String>) -> Option<RuleOperator> {
        if let Some(op) = RuleOperator::parse(&raw.value) {
            return Some(op);
        }
        let names = RuleOperator::ALL.map(RuleOperator::as_str);
        let normalized = raw
            .value
            .trim()
            .to_ascii_uppercase()
            .replace([' ', '-'], "_");
        let near = names
            .iter()
            .copied()
            .find(|n| *n == normalized)
            .or_else(|| closest(&raw.value, names.iter().copied()));
        let hint = match near {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!(
                "IBM's operators are {}",
                names.map(|n| format!("`{n}`")).join(", ")
            ),
        };
        self.diags.push(
            Diagnostic::new(
                format!("unknown operator `{}` in {context}", visible(&raw.value)),
                raw.loc,
                "not one of IBM's operators",
            )
            .hint(hint),
        );
        None
    }
}
