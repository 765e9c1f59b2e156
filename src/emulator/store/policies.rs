//! IAM Policy Management: one store of access policies behind the v1 and the v2 API
//! (docs/emulator.md, Access policies). Each policy remembers the version that created
//! it; the views are the routes' business, the rules are here: what a valid policy is,
//! what makes two policies duplicates, who may replace or delete which, and IBM's limits.
//!
//! Indexes: creation sequence → policy (the listing order), id → sequence, subject →
//! sequences (so a group's policies are read without a scan), and duplicate key →
//! sequence for active policies (so a create checks for a duplicate in O(1)).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Actor, ApiError, Store};
use crate::emulator::clock;
use crate::emulator::ids;
use crate::emulator::state::{
    ApiVersion, Attributes, MAX_POLICIES_PER_ACCOUNT, MAX_POLICIES_PER_SUBJECT, PUBLIC_ACCESS_ID,
    Policy, PolicyState, Tag, check_resource, duplicate_key, resolve_role, role_fits, value_len_ok,
    with_account,
};

/// The policies of the account and their indexes.
#[derive(Default)]
pub struct Policies {
    by_seq: BTreeMap<u64, Policy>,
    seq_of: HashMap<String, u64>,
    by_subject: HashMap<String, BTreeSet<u64>>,
    /// Active policies only.
    by_key: HashMap<String, u64>,
    next_seq: u64,
}

impl Policies {
    fn subject_key(p: &Policy) -> String {
        p.subject().map(|(_, v)| v.to_string()).unwrap_or_default()
    }

    /// Adds a policy whose id is new.
    pub(super) fn insert(&mut self, account_id: &str, policy: Policy) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(id) = &policy.id {
            self.seq_of.insert(id.clone(), seq);
        }
        self.by_subject
            .entry(Self::subject_key(&policy))
            .or_default()
            .insert(seq);
        if policy.state == PolicyState::Active {
            self.by_key.insert(duplicate_key(account_id, &policy), seq);
        }
        self.by_seq.insert(seq, policy);
    }

    fn get(&self, id: &str) -> Option<(u64, &Policy)> {
        let seq = *self.seq_of.get(id)?;
        self.by_seq.get(&seq).map(|p| (seq, p))
    }

    /// Replaces the policy at `seq`, keeping the indexes right.
    fn put(&mut self, account_id: &str, seq: u64, policy: Policy) {
        if let Some(old) = self.by_seq.get(&seq)
            && old.state == PolicyState::Active
        {
            let key = duplicate_key(account_id, old);
            if self.by_key.get(&key) == Some(&seq) {
                self.by_key.remove(&key);
            }
        }
        if policy.state == PolicyState::Active {
            self.by_key.insert(duplicate_key(account_id, &policy), seq);
        }
        self.by_seq.insert(seq, policy);
    }

    /// Forgets every policy of a subject (a deleted group or user), deleted ones too.
    pub(super) fn remove_subject(&mut self, account_id: &str, subject: &str) -> usize {
        let Some(seqs) = self.by_subject.remove(subject) else {
            return 0;
        };
        for seq in &seqs {
            if let Some(p) = self.by_seq.remove(seq) {
                if let Some(id) = &p.id {
                    self.seq_of.remove(id);
                }
                let key = duplicate_key(account_id, &p);
                if self.by_key.get(&key) == Some(seq) {
                    self.by_key.remove(&key);
                }
            }
        }
        seqs.len()
    }

    pub(super) fn all(&self) -> impl Iterator<Item = &Policy> {
        self.by_seq.values()
    }

    fn active_count(&self) -> usize {
        self.by_key.len()
    }

    fn active_of_subject(&self, subject: &str) -> usize {
        self.by_subject.get(subject).map_or(0, |seqs| {
            seqs.iter()
                .filter(|s| {
                    self.by_seq
                        .get(s)
                        .is_some_and(|p| p.state == PolicyState::Active)
                })
                .count()
        })
    }
}

/// A policy as a create or replace asks for it, whatever the version's wire shape.
#[derive(Clone, Debug)]
pub struct PolicyDraft {
    pub kind: String,
    pub description: Option<String>,
    /// `("access_group_id" | "iam_id", value)`.
    pub subject: (String, String),
    pub roles: Vec<String>,
    pub resource: Attributes,
    pub tags: Vec<Tag>,
    pub rule: Option<serde_json::Value>,
    pub pattern: Option<String>,
}

/// Why a policy write is refused: an error, or a duplicate of an existing active policy
/// (the routes write the 409 with that policy in the caller's view).
#[derive(Debug)]
pub enum PolicyRefusal {
    Error(ApiError),
    Duplicate(Box<Policy>),
}

impl From<ApiError> for PolicyRefusal {
    fn from(e: ApiError) -> PolicyRefusal {
        PolicyRefusal::Error(e)
    }
}

/// What a policy listing asks for; `None` matches everything.
#[derive(Default)]
pub struct PolicyFilter<'a> {
    pub access_group_id: Option<&'a str>,
    pub iam_id: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub service_type: Option<&'a str>,
    pub service_name: Option<&'a str>,
    pub service_group_id: Option<&'a str>,
    pub state: PolicyState,
}

impl PolicyFilter<'_> {
    fn matches(&self, p: &Policy) -> bool {
        let attr =
            |k: &str, want: Option<&str>| want.is_none_or(|w| p.resource.get_str(k) == Some(w));
        p.state == self.state
            && self
                .access_group_id
                .is_none_or(|g| p.access_group_id.as_deref() == Some(g))
            && self.iam_id.is_none_or(|i| p.iam_id.as_deref() == Some(i))
            && self.kind.is_none_or(|k| p.kind == k)
            && attr("serviceName", self.service_name)
            && attr("service_group_id", self.service_group_id)
            && self
                .service_type
                .is_none_or(|t| service_type_of(p) == Some(t))
    }
}

/// `service` for a policy on IAM-enabled services (a `serviceName`, or `serviceType:
/// service`), `platform_service` for `serviceType: platform_service`.
fn service_type_of(p: &Policy) -> Option<&str> {
    match p.resource.get_str("serviceType") {
        Some(t) => Some(t),
        None if p.resource.get("serviceName").is_some() => Some("service"),
        None => None,
    }
}

/// The ETag of a policy: `<revision>-<32 hex>`, as IBM's look, new on every write. A
/// deletion keeps it, so the ETag read before a deletion restores the policy.
pub fn policy_etag(policy: &Policy) -> String {
    let mut content = policy.clone();
    content.state = PolicyState::Active;
    let text = serde_json::to_vec(&content).unwrap_or_default();
    let d = ids::digest(&[b"policy-etag", &text]);
    format!("{}-{}", policy.revision.max(1), ids::hex(&d[..16]))
}

/// `If-Match`: required (428 without), equal to the current ETag or `*` (412 otherwise).
pub(super) fn check_if_match(
    what: &str,
    if_match: Option<&str>,
    current: &str,
) -> Result<(), ApiError> {
    let Some(given) = if_match else {
        return Err(ApiError::new(
            428,
            "precondition_required",
            format!("Changing {what} requires an If-Match header with the ETag of a prior GET."),
        ));
    };
    let norm = |t: &str| {
        let t = t.trim();
        t.strip_prefix("W/")
            .unwrap_or(t)
            .trim_matches('"')
            .to_string()
    };
    if given.trim() != "*" && norm(given) != norm(current) {
        return Err(ApiError::new(
            412,
            "precondition_failed",
            format!(
                "The If-Match value does not match the current ETag of {what}; read it again and retry."
            ),
        ));
    }
    Ok(())
}

pub fn policy_not_found(id: &str) -> ApiError {
    ApiError::new(
        404,
        "policy_not_found",
        format!("Policy with Id {id} not found."),
    )
}

impl Store {
    /// An active policy, for `GET`; 404 `policy_not_found` for a deleted or unknown one.
    pub fn policy(&self, id: &str) -> Result<&Policy, ApiError> {
        match self.policies.get(id) {
            Some((_, p)) if p.state == PolicyState::Active => Ok(p),
            _ => Err(policy_not_found(id)),
        }
    }

    /// The policies a listing returns, in creation order. A subject filter reads its
    /// index instead of scanning the account.
    pub fn list_policies(&self, filter: &PolicyFilter<'_>) -> Vec<&Policy> {
        let subject = filter.access_group_id.or(filter.iam_id);
        match subject {
            Some(s) => self
                .policies
                .by_subject
                .get(s)
                .into_iter()
                .flatten()
                .filter_map(|seq| self.policies.by_seq.get(seq))
                .filter(|p| filter.matches(p))
                .collect(),
            None => self.policies.all().filter(|p| filter.matches(p)).collect(),
        }
    }

    /// `POST /v1/policies` and `POST /v2/policies`.
    pub fn create_policy(
        &mut self,
        actor: &Actor,
        version: ApiVersion,
        draft: PolicyDraft,
        now_ms: u64,
    ) -> Result<Policy, PolicyRefusal> {
        let policy = self.validated(version, draft, None)?;
        let id = self.mint_id(
            |s, n| ids::uuid_from(&[b"policy", s.account_id.as_bytes(), n, &now_ms.to_le_bytes()]),
            |s, id| s.policies.seq_of.contains_key(id),
        );
        let now = clock::iso(now_ms);
        let policy = Policy {
            id: Some(id),
            version,
            created_at: Some(now.clone()),
            created_by_id: Some(actor.iam_id.clone()),
            last_modified_at: Some(now),
            last_modified_by_id: Some(actor.iam_id.clone()),
            revision: 1,
            ..policy
        };
        self.policies.insert(&self.account_id, policy.clone());
        self.dirty = true;
        Ok(policy)
    }

    /// `PUT /v{1,2}/policies/{id}`: the whole policy, with `If-Match`, through the version
    /// that created it. The type and the subject cannot change.
    pub fn replace_policy(
        &mut self,
        actor: &Actor,
        version: ApiVersion,
        id: &str,
        if_match: Option<&str>,
        draft: PolicyDraft,
        now_ms: u64,
    ) -> Result<Policy, PolicyRefusal> {
        let (seq, current) = self.writable_policy(version, id)?;
        check_if_match(&format!("policy {id}"), if_match, &policy_etag(current))?;
        if draft.kind != current.kind {
            return Err(ApiError::invalid_body("The policy type cannot be changed.").into());
        }
        let same_subject = current
            .subject()
            .is_some_and(|(k, v)| k == draft.subject.0 && v == draft.subject.1);
        if !same_subject {
            return Err(ApiError::invalid_body(format!(
                "The subject of policy {id} cannot be changed; create a policy for the other subject and delete this one."
            ))
            .into());
        }
        let current = current.clone();
        let replaced = self.validated(version, draft, Some(seq))?;
        let policy = Policy {
            id: current.id.clone(),
            version,
            state: PolicyState::Active,
            created_at: current.created_at.clone(),
            created_by_id: current.created_by_id.clone(),
            last_modified_at: Some(clock::iso(now_ms)),
            last_modified_by_id: Some(actor.iam_id.clone()),
            revision: current.revision.max(1) + 1,
            ..replaced
        };
        self.policies.put(&self.account_id, seq, policy.clone());
        self.dirty = true;
        Ok(policy)
    }

    /// `DELETE /v{1,2}/policies/{id}`: soft deletion (listed with `state=deleted`,
    /// restorable through v1 `PATCH`), through the version that created it.
    pub fn delete_policy(&mut self, version: ApiVersion, id: &str) -> Result<(), ApiError> {
        let (seq, current) = self.writable_policy(version, id).map_err(|r| match r {
            PolicyRefusal::Error(e) => e,
            PolicyRefusal::Duplicate(_) => policy_not_found(id),
        })?;
        let mut deleted = current.clone();
        deleted.state = PolicyState::Deleted;
        self.policies.put(&self.account_id, seq, deleted);
        self.dirty = true;
        Ok(())
    }

    /// `PATCH /v1/policies/{id}` `{"state": "active"}`: restores a deleted v1 policy (a
    /// no-op on an active one). `If-Match` is checked against the policy's current ETag.
    pub fn restore_policy(
        &mut self,
        actor: &Actor,
        id: &str,
        if_match: Option<&str>,
        state: &str,
        now_ms: u64,
    ) -> Result<Policy, PolicyRefusal> {
        if state != "active" {
            return Err(ApiError::invalid_body(format!(
                "state {state:?} cannot be set; PATCH restores a deleted policy with {{\"state\": \"active\"}}."
            ))
            .into());
        }
        let (seq, current) = self.policies.get(id).ok_or_else(|| policy_not_found(id))?;
        cross_version(ApiVersion::V1, current)?;
        check_if_match(&format!("policy {id}"), if_match, &policy_etag(current))?;
        if current.state == PolicyState::Active {
            return Ok(current.clone());
        }
        let key = duplicate_key(&self.account_id, current);
        if let Some(other) = self
            .policies
            .by_key
            .get(&key)
            .and_then(|s| self.policies.by_seq.get(s))
        {
            return Err(PolicyRefusal::Duplicate(Box::new(other.clone())));
        }
        let subject = Policies::subject_key(current);
        self.check_limits(&subject, Some(seq))?;
        // A custom role it granted may have been deleted while the policy was.
        let service = current.resource.get_str("serviceName");
        self.check_policy_roles(&current.roles, service, &current.resource)?;
        let mut restored = current.clone();
        restored.state = PolicyState::Active;
        restored.revision = restored.revision.max(1) + 1;
        restored.last_modified_at = Some(clock::iso(now_ms));
        restored.last_modified_by_id = Some(actor.iam_id.clone());
        self.policies.put(&self.account_id, seq, restored.clone());
        self.dirty = true;
        Ok(restored)
    }

    /// An active policy the calling version may write: 404 if unknown or deleted, 400 if
    /// another version created it.
    fn writable_policy(
        &self,
        version: ApiVersion,
        id: &str,
    ) -> Result<(u64, &Policy), PolicyRefusal> {
        match self.policies.get(id) {
            Some((seq, p)) if p.state == PolicyState::Active => {
                cross_version(version, p)?;
                Ok((seq, p))
            }
            _ => Err(policy_not_found(id).into()),
        }
    }

    /// Checks a draft against IBM's rules and returns it as a policy (without id and
    /// timestamps). `except` is the policy being replaced.
    fn validated(
        &self,
        version: ApiVersion,
        draft: PolicyDraft,
        except: Option<u64>,
    ) -> Result<Policy, PolicyRefusal> {
        if draft.kind != "access" {
            return Err(ApiError::invalid_body(format!(
                "Policy type {:?} is not supported; the emulator serves access policies.",
                draft.kind
            ))
            .into());
        }
        let (key, value) = &draft.subject;
        self.check_subject(key, value)?;
        check_resource(&self.account_id, &draft.resource)
            .map_err(|e| ApiError::invalid_body(format!("Invalid resource: {e}.")))?;
        check_tags(&draft.tags)?;
        check_conditions(version, &draft)?;
        if draft
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 300)
        {
            return Err(
                ApiError::invalid_body("The description must be at most 300 characters.").into(),
            );
        }
        let service = draft.resource.get_str("serviceName");
        if let Some(s) = service
            && !self.known_service(s)
        {
            return Err(ApiError::invalid_body(format!(
                "Service {s:?} is not an IAM-enabled service of this account."
            ))
            .into());
        }
        self.check_policy_roles(&draft.roles, service, &draft.resource)?;
        let policy = Policy {
            kind: draft.kind,
            description: draft.description,
            access_group_id: (key == "access_group_id").then(|| value.clone()),
            iam_id: (key == "iam_id").then(|| value.clone()),
            roles: draft.roles,
            resource: draft.resource,
            tags: draft.tags,
            rule: draft.rule,
            pattern: draft.pattern,
            ..Policy::default()
        };
        self.check_limits(value, except)?;
        let dup = self
            .policies
            .by_key
            .get(&duplicate_key(&self.account_id, &policy));
        if let Some(seq) = dup
            && Some(*seq) != except
            && let Some(other) = self.policies.by_seq.get(seq)
        {
            return Err(PolicyRefusal::Duplicate(Box::new(other.clone())));
        }
        Ok(policy)
    }

    fn check_subject(&self, key: &str, value: &str) -> Result<(), ApiError> {
        if !value_len_ok(value) {
            return Err(ApiError::invalid_body(
                "The subject's value must be 1 to 1000 characters.",
            ));
        }
        match key {
            "access_group_id" if value == PUBLIC_ACCESS_ID || self.group(value).is_some() => Ok(()),
            "access_group_id" => Err(ApiError::invalid_body(
                "Access groups can only be assigned against resources in the same account as the access group.",
            )),
            "iam_id" => Ok(()),
            other => Err(ApiError::invalid_body(format!(
                "Subject attribute {other:?} is not supported; use access_group_id or iam_id."
            ))),
        }
    }

    fn check_policy_roles(
        &self,
        roles: &[String],
        service: Option<&str>,
        resource: &Attributes,
    ) -> Result<(), ApiError> {
        if roles.is_empty() {
            return Err(ApiError::invalid_body(
                "A policy must grant at least one role.",
            ));
        }
        for (i, crn) in roles.iter().enumerate() {
            if roles[..i].contains(crn) {
                return Err(ApiError::invalid_body(format!(
                    "Role {crn} is listed twice."
                )));
            }
            role_fits(&self.account_id, &self.roles, crn, service, resource).map_err(|e| {
                let listing = service.map_or(String::new(), |s| {
                    format!(
                        " List the valid roles with GET /v2/roles?account_id={}&service_name={s}.",
                        self.account_id
                    )
                });
                ApiError::invalid_body(format!("Invalid role: {e}.{listing}"))
            })?;
        }
        Ok(())
    }

    /// IBM's limits: policies per subject and per account (active ones).
    fn check_limits(&self, subject: &str, except: Option<u64>) -> Result<(), ApiError> {
        let replacing = except.is_some_and(|seq| {
            self.policies
                .by_seq
                .get(&seq)
                .is_some_and(|p| p.state == PolicyState::Active)
        });
        let adds = usize::from(!replacing);
        if self.policies.active_of_subject(subject) + adds > MAX_POLICIES_PER_SUBJECT {
            return Err(ApiError::new(
                400,
                "request_not_processed",
                format!(
                    "{subject} already has {MAX_POLICIES_PER_SUBJECT} policies, IBM's limit per subject; remove one first."
                ),
            ));
        }
        if self.policies.active_count() + adds > MAX_POLICIES_PER_ACCOUNT {
            return Err(ApiError::new(
                400,
                "request_not_processed",
                format!(
                    "Account {} already has {MAX_POLICIES_PER_ACCOUNT} policies, IBM's limit per account.",
                    self.account_id
                ),
            ));
        }
        Ok(())
    }

    /// Forgets a subject's policies (its group or user is gone).
    pub(super) fn drop_policies_of(&mut self, subject: &str) {
        if self.policies.remove_subject(&self.account_id, subject) > 0 {
            self.dirty = true;
        }
    }

    /// How many active policies grant a role (a custom role in use cannot be deleted).
    pub(super) fn policies_granting(&self, crn: &str) -> usize {
        self.policies
            .all()
            .filter(|p| p.state == PolicyState::Active && p.roles.iter().any(|r| r == crn))
            .count()
    }
}

/// Decision: a write through the other API version is a 400 naming the right one.
fn cross_version(version: ApiVersion, p: &Policy) -> Result<(), ApiError> {
    if p.version == version {
        return Ok(());
    }
    let id = p.id.as_deref().unwrap_or("");
    Err(ApiError::new(
        400,
        "request_not_processed",
        format!(
            "Policy {id} was created with /{}/policies; replace, restore or delete it with /{}/policies/{id} (use the API version that created it).",
            p.version.as_str(),
            p.version.as_str()
        ),
    ))
}

fn check_tags(tags: &[Tag]) -> Result<(), ApiError> {
    for tag in tags {
        let op_ok = matches!(
            tag.operator.as_deref(),
            None | Some("stringEquals" | "stringMatch")
        );
        if tag.key.is_empty() || !value_len_ok(&tag.value) || !op_ok {
            return Err(ApiError::invalid_body(
                "Every tag needs a name, a value of 1 to 1000 characters and the operator stringEquals or stringMatch.",
            ));
        }
    }
    Ok(())
}

fn check_conditions(version: ApiVersion, draft: &PolicyDraft) -> Result<(), ApiError> {
    match (version, &draft.rule, &draft.pattern) {
        (_, None, None) => Ok(()),
        (ApiVersion::V1, _, _) => Err(ApiError::invalid_body(
            "You can't add conditions to a policy that is created with the v1 API.",
        )),
        (ApiVersion::V2, Some(rule), Some(_)) if rule.is_object() => Ok(()),
        (ApiVersion::V2, _, _) => Err(ApiError::invalid_body(
            "A conditional policy needs both a rule (an object) and a pattern.",
        )),
    }
}

impl Store {
    /// Loads one policy of the state: `accountId` put in, role names resolved to CRNs,
    /// id and timestamps filled in. A duplicate id (which validation rejects) keeps the
    /// first.
    pub(super) fn load_policy(&mut self, mut p: Policy, index: usize, now: &str) {
        with_account(&mut p, &self.account_id);
        p.roles = p
            .roles
            .iter()
            .map(|r| resolve_role(&self.account_id, &self.roles, r).unwrap_or_else(|| r.clone()))
            .collect();
        let id =
            p.id.get_or_insert_with(|| {
                ids::uuid_from(&[
                    b"policy",
                    self.account_id.as_bytes(),
                    &(index as u64).to_le_bytes(),
                ])
            })
            .clone();
        if self.policies.seq_of.contains_key(&id) {
            return;
        }
        p.revision = p.revision.max(1);
        p.created_at.get_or_insert_with(|| now.to_string());
        let created = p.created_at.clone();
        p.last_modified_at = p.last_modified_at.take().or(created);
        if let Some(s) = p.resource.get_str("serviceName") {
            self.services.insert(s.to_string());
        }
        self.policies.insert(&self.account_id, p);
    }
}
