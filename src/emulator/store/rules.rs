//! Access Groups, the dynamic rules of a group: list, create, read, replace (with
//! `If-Match`, the whole rule) and delete, at most 5 per group. Rules are stored, never
//! evaluated: the members they would produce come from the state file.

use super::groups::read_only;
use super::policies::check_if_match;
use super::{Actor, ApiError, Store};
use crate::emulator::clock;
use crate::emulator::ids;
use crate::emulator::state::{
    Condition, MAX_RULES_PER_GROUP, PUBLIC_ACCESS_ID, Rule, rule_problem,
};

/// A rule as a create or replace asks for it.
pub struct RuleDraft {
    pub name: Option<String>,
    pub expiration: u32,
    pub realm_name: String,
    pub conditions: Vec<Condition>,
}

/// The ETag of a rule: `<revision>-<32 hex>`.
pub fn rule_etag(rule: &Rule) -> String {
    let text = serde_json::to_vec(rule).unwrap_or_default();
    let d = ids::digest(&[b"rule-etag", &text]);
    format!("{}-{}", rule.revision.max(1), ids::hex(&d[..16]))
}

fn rule_not_found(group: &str, id: &str) -> ApiError {
    ApiError::new(
        404,
        "rule_not_found",
        format!("Rule {id} was not found in access group {group}."),
    )
}

fn check_draft(draft: &RuleDraft) -> Result<(), ApiError> {
    if let Some(p) = rule_problem(draft.expiration, &draft.realm_name, &draft.conditions) {
        return Err(ApiError::invalid_body(format!("Invalid rule: {p}.")));
    }
    if draft.name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        return Err(ApiError::invalid_body(
            "A rule name is at most 100 characters.",
        ));
    }
    Ok(())
}

impl Store {
    /// `GET /v2/groups/{id}/rules`: every rule, unpaged; Public Access has none.
    pub fn rules(&self, group: &str) -> Result<&[Rule], ApiError> {
        if group == PUBLIC_ACCESS_ID {
            return Ok(&[]);
        }
        self.group(group)
            .map(|g| g.rules.as_slice())
            .ok_or_else(|| self.not_found(group))
    }

    pub fn rule(&self, group: &str, id: &str) -> Result<&Rule, ApiError> {
        self.rules(group)?
            .iter()
            .find(|r| r.id.as_deref() == Some(id))
            .ok_or_else(|| rule_not_found(group, id))
    }

    /// Whether a group has dynamic rules (`is_federated`).
    pub fn has_rules(&self, group: &str) -> bool {
        self.group(group).is_some_and(|g| !g.rules.is_empty())
    }

    /// `POST /v2/groups/{id}/rules`.
    pub fn create_rule(
        &mut self,
        actor: &Actor,
        group: &str,
        draft: RuleDraft,
        now_ms: u64,
    ) -> Result<Rule, ApiError> {
        if group == PUBLIC_ACCESS_ID {
            return Err(read_only("adding dynamic rules"));
        }
        let pos = self.writable_group(group, "adding dynamic rules")?;
        check_draft(&draft)?;
        let count = self.groups.get(pos).map_or(0, |r| r.group.rules.len());
        if count >= MAX_RULES_PER_GROUP {
            return Err(ApiError::new(
                400,
                "limit_exceeded",
                format!(
                    "Access group {group} already has {MAX_RULES_PER_GROUP} dynamic rules, IBM's limit."
                ),
            ));
        }
        let id = self.mint_id(
            |s, n| {
                let uuid = ids::uuid_from(&[b"rule", s.account_id.as_bytes(), group.as_bytes(), n]);
                format!("ClaimRule-{uuid}")
            },
            |s, id| {
                s.groups
                    .iter()
                    .any(|g| g.group.rules.iter().any(|r| r.id.as_deref() == Some(id)))
            },
        );
        let now = clock::iso(now_ms);
        let rule = Rule {
            id: Some(id),
            name: draft.name.unwrap_or_default(),
            expiration: draft.expiration,
            realm_name: draft.realm_name,
            conditions: draft.conditions,
            created_at: Some(now.clone()),
            created_by_id: Some(actor.iam_id.clone()),
            last_modified_at: Some(now),
            last_modified_by_id: Some(actor.iam_id.clone()),
            revision: 1,
        };
        if let Some(rec) = self.groups.get_mut(pos) {
            rec.group.rules.push(rule.clone());
        }
        self.dirty = true;
        Ok(rule)
    }

    /// `PUT /v2/groups/{id}/rules/{rule_id}`: replaces the whole rule; a name left out
    /// is cleared (as IBM does to Terraform, terraform-provider-ibm#6470).
    pub fn replace_rule(
        &mut self,
        actor: &Actor,
        group: &str,
        id: &str,
        if_match: Option<&str>,
        draft: RuleDraft,
        now_ms: u64,
    ) -> Result<Rule, ApiError> {
        let pos = self.writable_group(group, "changing dynamic rules")?;
        let current = self.rule(group, id)?;
        check_if_match(&format!("rule {id}"), if_match, &rule_etag(current))?;
        check_draft(&draft)?;
        let rules = self
            .groups
            .get_mut(pos)
            .map(|r| &mut r.group.rules)
            .ok_or_else(|| rule_not_found(group, id))?;
        let rule = rules
            .iter_mut()
            .find(|r| r.id.as_deref() == Some(id))
            .ok_or_else(|| rule_not_found(group, id))?;
        rule.name = draft.name.unwrap_or_default();
        rule.expiration = draft.expiration;
        rule.realm_name = draft.realm_name;
        rule.conditions = draft.conditions;
        rule.revision = rule.revision.max(1) + 1;
        rule.last_modified_at = Some(clock::iso(now_ms));
        rule.last_modified_by_id = Some(actor.iam_id.clone());
        let rule = rule.clone();
        self.dirty = true;
        Ok(rule)
    }

    /// `DELETE /v2/groups/{id}/rules/{rule_id}`.
    pub fn delete_rule(&mut self, group: &str, id: &str) -> Result<(), ApiError> {
        let pos = self.writable_group(group, "removing dynamic rules")?;
        let rules = self
            .groups
            .get_mut(pos)
            .map(|r| &mut r.group.rules)
            .ok_or_else(|| rule_not_found(group, id))?;
        let before = rules.len();
        rules.retain(|r| r.id.as_deref() != Some(id));
        if rules.len() == before {
            return Err(rule_not_found(group, id));
        }
        self.dirty = true;
        Ok(())
    }
}

/// Fills in what a hand-written rule leaves out: its id, revision and timestamps.
pub(super) fn fill_rules(account_id: &str, group: &str, rules: &mut [Rule], now: &str) {
    for (i, rule) in rules.iter_mut().enumerate() {
        rule.id.get_or_insert_with(|| {
            let uuid = ids::uuid_from(&[
                b"rule",
                account_id.as_bytes(),
                group.as_bytes(),
                &(i as u64).to_le_bytes(),
            ]);
            format!("ClaimRule-{uuid}")
        });
        rule.revision = rule.revision.max(1);
        rule.created_at.get_or_insert_with(|| now.to_string());
        let created = rule.created_at.clone();
        rule.last_modified_at = rule.last_modified_at.take().or(created);
    }
}
