//! Digests that tie a saved plan to what it was computed from (docs/cli.md, the JSON
//! fields; docs/reconciliation.md, saved plans).
//!
//! `apply PLANFILE` refuses a plan whose config digest no longer matches, so the digest must
//! change exactly when the meaning of the file changes: it is taken over the validated,
//! normalized [`DesiredState`] (comments, key order, email case and formatting never reach
//! it). The live digest is taken over a canonical form of the [`LiveState`] with users,
//! groups and members sorted and deduplicated, because IBM returns pages in no fixed order.
//!
//! The live digest covers everything the planner reads, so that equal digests mean the
//! account did not move (`check_saved` tells an edited plan file from a moved account so).
//! What the second wave added (policies, rules, roles, instances, resource groups, the
//! groups of departing users) is left out when absent, so an account without it digests
//! exactly as it always did.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::{
    DesiredState, GroupRef, IamId, LiveInstance, LiveMember, LivePolicy, LiveResourceGroup,
    LiveRole, LiveRule, LiveState, LiveUser, PolicyShape, PolicyTarget, RoleCrn, RoleKind,
    RuleCondition,
};

/// `sha256:<hex>` of the normalized desired state.
pub fn config_digest(desired: &DesiredState) -> String {
    // DesiredState is all sorted maps and sets, so its JSON is already canonical.
    digest("orgsync-config-v1", desired)
}

/// `sha256:<hex>` of the live state, independent of the order (and repetition) of its
/// users, groups and members.
pub fn live_digest(live: &LiveState) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        account_id: &'a str,
        caller: &'a str,
        users: Vec<&'a LiveUser>,
        groups: Vec<CanonicalGroup<'a>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        roles: Vec<&'a LiveRole>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        instances: Vec<&'a LiveInstance>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        resource_groups: Vec<&'a LiveResourceGroup>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        user_groups: BTreeMap<&'a IamId, Vec<&'a GroupRef>>,
    }

    let mut users: Vec<&LiveUser> = live.users.iter().collect();
    users.sort_by(|a, b| {
        (&a.iam_id, &a.email, &a.state, a.added_on)
            .cmp(&(&b.iam_id, &b.email, &b.state, b.added_on))
    });
    users.dedup();
    let mut groups: Vec<CanonicalGroup> = live
        .groups
        .iter()
        .map(|g| CanonicalGroup {
            id: g.id.as_str(),
            name: g.name.as_str(),
            description: &g.description,
            members: g.members.as_ref().map(|ms| {
                let mut ms: Vec<&LiveMember> = ms.iter().collect();
                ms.sort();
                ms.dedup();
                ms
            }),
            policies: g.policies.as_ref().map(|ps| sorted_by(ps, policy_key)),
            rules: g.rules.as_ref().map(|rs| sorted_by(rs, rule_key)),
        })
        .collect();
    groups.sort_by(|a, b| {
        (a.id, a.name, a.description, &a.members)
            .cmp(&(b.id, b.name, b.description, &b.members))
            .then_with(|| extra_key(a).cmp(&extra_key(b)))
    });
    groups.dedup_by(|a, b| {
        (a.id, a.name, a.description, &a.members) == (b.id, b.name, b.description, &b.members)
            && extra_key(a) == extra_key(b)
    });
    let mut instances: Vec<&LiveInstance> = live.instances.iter().collect();
    instances.sort();
    instances.dedup();
    let mut resource_groups: Vec<&LiveResourceGroup> = live.resource_groups.iter().collect();
    resource_groups.sort();
    resource_groups.dedup();
    let user_groups = (live.user_groups.iter())
        .map(|(iam_id, groups)| {
            let mut groups: Vec<&GroupRef> = groups.iter().collect();
            groups.sort();
            groups.dedup();
            (iam_id, groups)
        })
        .collect();
    digest(
        "orgsync-live-v1",
        &Canonical {
            account_id: live.account_id.as_str(),
            caller: live.caller.as_str(),
            users,
            groups,
            roles: sorted_by(&live.roles, role_key),
            instances,
            resource_groups,
            user_groups,
        },
    )
}

#[derive(Serialize)]
struct CanonicalGroup<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    members: Option<Vec<&'a LiveMember>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policies: Option<Vec<&'a LivePolicy>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<Vec<&'a LiveRule>>,
}

type GroupExtraKey<'a> = (Option<Vec<PolicyKey<'a>>>, Option<Vec<RuleKey<'a>>>);

/// Policies and rules have no order of their own: a group's are compared by their keys,
/// which are only built for groups that carry them.
fn extra_key<'a>(group: &CanonicalGroup<'a>) -> GroupExtraKey<'a> {
    (
        (group.policies.as_ref()).map(|ps| ps.iter().map(|p| policy_key(p)).collect()),
        (group.rules.as_ref()).map(|rs| rs.iter().map(|r| rule_key(r)).collect()),
    )
}

/// `items` sorted by `key` and deduplicated, for types without an order of their own.
fn sorted_by<'a, T, K: Ord>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by_key(|item| key(item));
    sorted.dedup_by(|a, b| key(a) == key(b));
    sorted
}

type PolicyKey<'a> = (
    &'a str,
    &'a str,
    Option<&'a PolicyTarget>,
    &'a str,
    &'a [RoleCrn],
    &'a str,
);

fn policy_key(policy: &LivePolicy) -> PolicyKey<'_> {
    let (target, reason) = match &policy.shape {
        PolicyShape::Expressible(target) => (Some(target), ""),
        PolicyShape::Unexpressible(reason) => (None, reason.as_str()),
    };
    (
        policy.id.as_str(),
        policy.version.as_str(),
        target,
        reason,
        &policy.roles,
        policy.group.as_str(),
    )
}

type RuleKey<'a> = (&'a str, &'a str, &'a str, u32, &'a [RuleCondition]);

fn rule_key(rule: &LiveRule) -> RuleKey<'_> {
    (
        rule.id.as_str(),
        rule.name.as_str(),
        rule.realm.as_str(),
        rule.expiration_hours,
        &rule.conditions,
    )
}

type RoleKey<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a [String],
    &'a str,
    (u8, &'a str),
);

fn role_key(role: &LiveRole) -> RoleKey<'_> {
    let custom = match &role.kind {
        RoleKind::Platform => (0, ""),
        RoleKind::Service => (1, ""),
        RoleKind::Custom { id } => (2, id.as_str()),
    };
    (
        role.crn.as_str(),
        role.service.as_str(),
        role.name.as_str(),
        role.display_name.as_str(),
        &role.actions,
        role.description.as_str(),
        custom,
    )
}

/// The domain tag keeps a config and a live state from ever sharing a digest.
fn digest(domain: &str, value: &impl Serialize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(domain.as_bytes());
    hasher.update(b"\n");
    // Streamed straight into the hasher: no copy of a large state is held. Serialising
    // these plain types cannot fail (every map key is a string, and hashing does no I/O),
    // so there is no error to report.
    let _ = serde_json::to_writer(&mut hasher, value);
    let bytes = hasher.finalize();
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256:");
    for b in bytes {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}
