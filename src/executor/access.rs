//! Carrying out the jobs of what groups grant: custom roles, access policies and dynamic
//! rules (docs/reconciliation.md, Batching).
//!
//! Creates are not idempotent (a second policy create is a 409, a second rule create a
//! second rule), so each goes through the one re-read protocol ([`send_once`]) with a
//! [`NonIdempotent`] impl here: after an ambiguous failure, or a 409 that may be the
//! earlier attempt's, re-read the group's policies (the account's custom roles of the
//! service, the group's rules) and create only what is not there. Replaces go through
//! the client's `If-Match` calls, which turn a 412 into success when the intended result
//! already holds; deletes answered 404 are gone already.

use std::collections::BTreeSet;
use std::fmt;

use super::account::IamWrite;
use super::calls::single;
use super::jobs::{Done, Job, Outcome};
use super::report::{Problem, SkipReason, Unknown};
use super::resend::{NonIdempotent, Seen, send_once};
use crate::iam::{CreatedPolicy, CreatedRole, CreatedRule, Deleted, IamError};
use crate::model::{
    AccessGroupId, AccountId, DesiredRole, DesiredRule, LiveRole, PolicyShape, PolicyTarget,
    RoleCrn, RoleKind,
};

/// Makes the call(s) of a role, policy or rule job. `ids`: the group's id, as readiness
/// resolved it (for creates in a group this apply creates).
pub(super) async fn run<W: IamWrite>(
    job: Job,
    ids: Vec<AccessGroupId>,
    writer: W,
    account: AccountId,
) -> Done {
    let group_id = ids.into_iter().next();
    let (index, outcome) = match job {
        Job::CreateRole { index, role } => (index, create_role(&writer, &account, role).await),
        Job::UpdateRole {
            index,
            role_id,
            role,
        } => (index, single(writer.update_role(&role_id, &role).await)),
        Job::CreatePolicy {
            index,
            group,
            target,
            role_ids,
            ..
        } => match group_id {
            Some(id) => (
                index,
                create_policy(&writer, &account, &id, target, role_ids).await,
            ),
            None => (index, Outcome::skipped(SkipReason::NoGroupId(group))),
        },
        Job::UpdatePolicy {
            index,
            group_id,
            policy_id,
            version,
            target,
            role_ids,
            ..
        } => {
            let result = writer
                .replace_policy(&account, &group_id, &policy_id, version, &target, &role_ids)
                .await;
            (index, single(result))
        }
        Job::RemovePolicy {
            index,
            policy_id,
            version,
            ..
        } => (
            index,
            deleted(writer.delete_policy(&policy_id, version).await),
        ),
        Job::CreateRule {
            index, group, rule, ..
        } => match group_id {
            Some(id) => (index, create_rule(&writer, &id, rule).await),
            None => (index, Outcome::skipped(SkipReason::NoGroupId(group))),
        },
        Job::UpdateRule {
            index,
            group_id,
            rule_id,
            rule,
            ..
        } => (
            index,
            single(writer.update_rule(&group_id, &rule_id, &rule).await),
        ),
        Job::RemoveRule {
            index,
            group_id,
            rule_id,
            ..
        } => (
            index,
            deleted(writer.delete_rule(&group_id, &rule_id).await),
        ),
        // Membership jobs are `calls::run`'s; never report an unmade call as applied.
        other => {
            let lost = Outcome::failed(Problem::Unknown(Unknown::Lost));
            return Done::of(
                other
                    .indices()
                    .into_iter()
                    .map(|i| (i, lost.clone()))
                    .collect(),
            );
        }
    };
    Done::of(vec![(index, outcome)])
}

/// A delete's outcome: a 404 is the intended result (gone already).
fn deleted(result: Result<Deleted, IamError>) -> Outcome {
    single(result.map(|d| d.transaction_id))
}

/// The outcome of a one-item [`send_once`].
fn settled<L>(
    mut settled: Vec<(impl Sized, Result<L, Problem>)>,
    tx: impl Fn(&L) -> Option<String>,
) -> Outcome {
    match settled.pop().map(|(_, result)| result) {
        Some(Ok(landed)) => Outcome::applied(tx(&landed)),
        Some(Err(problem)) => Outcome::failed(problem),
        None => Outcome::failed(Problem::Unknown(Unknown::Lost)),
    }
}

// ---------------------------------------------------------------------------
// Policies

async fn create_policy<W: IamWrite>(
    writer: &W,
    account: &AccountId,
    group: &AccessGroupId,
    target: PolicyTarget,
    role_ids: Vec<RoleCrn>,
) -> Outcome {
    let write = PolicyCreate {
        writer,
        account,
        group,
    };
    let item = NewPolicy { target, role_ids };
    settled(
        send_once(writer, &write, vec![item]).await,
        |p: &CreatedPolicy| p.transaction_id.clone(),
    )
}

/// A policy this apply creates for one group.
struct NewPolicy {
    target: PolicyTarget,
    role_ids: Vec<RoleCrn>,
}

impl fmt::Display for NewPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = crate::plan::Target {
            service: self.target.service.clone(),
            instance_id: self.target.instance_id.clone(),
            resource_group_id: self.target.resource_group_id.clone(),
            ..crate::plan::Target::default()
        };
        write!(f, "the policy on {target}")
    }
}

/// Policy creates: found by target in the group's policies. A policy of the target with
/// the same roles is this create, landed (IBM's 409 `policy_conflict_error` for a retried
/// create names exactly that); with other roles it is someone else's.
struct PolicyCreate<'a, W> {
    writer: &'a W,
    account: &'a AccountId,
    group: &'a AccessGroupId,
}

impl<W: IamWrite> NonIdempotent for PolicyCreate<'_, W> {
    type Item = NewPolicy;
    type Landed = CreatedPolicy;
    const WRITE: &'static str = "the policy create";
    const READ: &'static str = "the group's policies";

    async fn send(&self, items: &[NewPolicy]) -> Result<Vec<CreatedPolicy>, IamError> {
        let mut created = Vec::with_capacity(items.len());
        for item in items {
            let policy = self
                .writer
                .create_policy(self.account, self.group, &item.target, &item.role_ids)
                .await?;
            created.push(policy);
        }
        Ok(created)
    }

    async fn find(&self, items: &[NewPolicy]) -> Result<Vec<Seen<CreatedPolicy>>, IamError> {
        let live = self
            .writer
            .list_policies(self.account, Some(self.group), false)
            .await?;
        Ok(items
            .iter()
            .map(|item| {
                let found = live
                    .iter()
                    .find(|p| matches!(&p.shape, PolicyShape::Expressible(t) if *t == item.target));
                match found {
                    None => Seen::Missing,
                    Some(p) if same_set(&p.roles, &item.role_ids) => Seen::Landed(CreatedPolicy {
                        id: p.id.clone(),
                        version: p.version,
                        transaction_id: None,
                    }),
                    Some(p) => Seen::Blocked(Problem::Conflict(format!(
                        "{item} exists already (policy {}) with other roles",
                        p.id
                    ))),
                }
            })
            .collect())
    }

    /// Any 409: IBM's duplicate check (`policy_conflict_error`) says a policy of this
    /// target exists; the re-read tells whether it is this one.
    fn may_have_landed(&self, error: &IamError, _after_unsure: bool) -> bool {
        error.is_ambiguous() || error.is_conflict()
    }

    /// A 409 the re-read cannot explain (IBM's duplicate check may be broader than the
    /// target) is final: sending again would meet it again.
    fn resend_missing(&self, error: &IamError) -> bool {
        !error.is_conflict()
    }
}

fn same_set(a: &[RoleCrn], b: &[RoleCrn]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

// ---------------------------------------------------------------------------
// Custom roles

async fn create_role<W: IamWrite>(writer: &W, account: &AccountId, role: DesiredRole) -> Outcome {
    let write = RoleCreate { writer, account };
    settled(
        send_once(writer, &write, vec![NewRole(role)]).await,
        |r: &CreatedRole| r.transaction_id.clone(),
    )
}

/// A custom role this apply creates.
struct NewRole(DesiredRole);

/// Custom role creates: found by name among the service's custom roles. One with the same
/// display name, actions (and description, when the file says one) is this create,
/// landed; IBM's 409 `role_conflict_error` for a retried create names it. Another with the
/// name is someone else's.
struct RoleCreate<'a, W> {
    writer: &'a W,
    account: &'a AccountId,
}

impl fmt::Display for NewRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "custom role {}", self.0.name)
    }
}

impl<W: IamWrite> NonIdempotent for RoleCreate<'_, W> {
    type Item = NewRole;
    type Landed = CreatedRole;
    const WRITE: &'static str = "the role create";
    const READ: &'static str = "the account's custom roles";

    async fn send(&self, items: &[NewRole]) -> Result<Vec<CreatedRole>, IamError> {
        let mut created = Vec::with_capacity(items.len());
        for role in items {
            created.push(self.writer.create_role(self.account, &role.0).await?);
        }
        Ok(created)
    }

    async fn find(&self, items: &[NewRole]) -> Result<Vec<Seen<CreatedRole>>, IamError> {
        let mut out = Vec::with_capacity(items.len());
        for role in items {
            let live = self
                .writer
                .list_roles(self.account, &role.0.service)
                .await?;
            out.push(role_seen(role, &live));
        }
        Ok(out)
    }

    fn may_have_landed(&self, error: &IamError, _after_unsure: bool) -> bool {
        error.is_ambiguous() || error.is_conflict()
    }

    fn resend_missing(&self, error: &IamError) -> bool {
        !error.is_conflict()
    }
}

fn role_seen(new: &NewRole, live: &[LiveRole]) -> Seen<CreatedRole> {
    let role = &new.0;
    let found = live.iter().find_map(|r| match &r.kind {
        RoleKind::Custom { id } if r.name == role.name => Some((r, id)),
        _ => None,
    });
    match found {
        None => Seen::Missing,
        Some((r, id)) if role_matches(role, r) => Seen::Landed(CreatedRole {
            id: id.clone(),
            crn: Some(r.crn.clone()),
            transaction_id: None,
        }),
        Some(_) => Seen::Blocked(Problem::Conflict(format!(
            "{new} exists already with another display name, description or actions"
        ))),
    }
}

/// Whether a live custom role is what the file declares (actions as a set; the
/// description only when the file says one).
pub(super) fn role_matches(role: &DesiredRole, live: &LiveRole) -> bool {
    let actions: BTreeSet<&String> = live.actions.iter().collect();
    live.display_name == role.display_name
        && role
            .description
            .as_ref()
            .is_none_or(|d| *d == live.description)
        && actions == role.actions.iter().collect()
}

// ---------------------------------------------------------------------------
// Dynamic rules

async fn create_rule<W: IamWrite>(writer: &W, group: &AccessGroupId, rule: DesiredRule) -> Outcome {
    let write = RuleCreate { writer, group };
    settled(
        send_once(writer, &write, vec![NewRule(rule)]).await,
        |r: &CreatedRule| r.transaction_id.clone(),
    )
}

/// A rule this apply creates.
struct NewRule(DesiredRule);

/// Rule creates: found by name (ignoring case) among the group's rules. IBM has no
/// duplicate check on rules, so only the ambiguous failures re-read.
struct RuleCreate<'a, W> {
    writer: &'a W,
    group: &'a AccessGroupId,
}

impl fmt::Display for NewRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {:?}", self.0.name)
    }
}

impl<W: IamWrite> NonIdempotent for RuleCreate<'_, W> {
    type Item = NewRule;
    type Landed = CreatedRule;
    const WRITE: &'static str = "the rule create";
    const READ: &'static str = "the group's rules";

    async fn send(&self, items: &[NewRule]) -> Result<Vec<CreatedRule>, IamError> {
        let mut created = Vec::with_capacity(items.len());
        for rule in items {
            created.push(self.writer.create_rule(self.group, &rule.0).await?);
        }
        Ok(created)
    }

    async fn find(&self, items: &[NewRule]) -> Result<Vec<Seen<CreatedRule>>, IamError> {
        let live = self.writer.list_rules(self.group).await?;
        Ok(items
            .iter()
            .map(|new| {
                let rule = &new.0;
                let named = live
                    .iter()
                    .find(|r| r.name.to_lowercase() == rule.name.to_lowercase());
                match named {
                    None => Seen::Missing,
                    Some(r) if r.matches(rule) => Seen::Landed(CreatedRule {
                        id: r.id.clone(),
                        transaction_id: None,
                    }),
                    Some(r) => Seen::Blocked(Problem::Conflict(format!(
                        "{new} exists already (rule {}) with another realm, expiration or conditions",
                        r.id
                    ))),
                }
            })
            .collect())
    }
}
