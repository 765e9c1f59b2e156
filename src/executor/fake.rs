//! An account in memory behind [`IamRead`] and [`IamWrite`], for the executor's tests:
//! no HTTP, scripted faults, and a log of every call in the order it was made.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::account::{IamRead, IamWrite};
use crate::iam::{
    ApiErrorInfo, CreatedGroup, CreatedPolicy, CreatedRole, CreatedRule, Deleted, IamError,
    InvitedUser, MemberOutcome, UserRemoval,
};
use crate::model::{
    AccessGroupId, AccountId, DesiredRole, DesiredRule, Email, GroupName, IamId, LiveGroup,
    LiveMember, LivePolicy, LiveRole, LiveRule, LiveUser, MemberKind, PolicyId, PolicyShape,
    PolicyTarget, PolicyVersion, RoleCrn, RoleId, RoleKind, RoleName, RuleId, ServiceName,
    UserState,
};

/// Which call a fault or a log line is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    CreateGroup,
    Update,
    Invite,
    Add,
    Remove,
    RemoveUser,
    ListUsers,
    GetUser,
    ListGroups,
    ListMembers,
    ListPolicies,
    CreatePolicy,
    ReplacePolicy,
    DeletePolicy,
    ListRoles,
    CreateRole,
    UpdateRole,
    ListRules,
    CreateRule,
    UpdateRule,
    DeleteRule,
}

/// What a faulty call does.
#[derive(Clone, Debug)]
pub enum Fault {
    /// A 503 from a gateway; `landed`: IBM carried the write out first.
    Unavailable { landed: bool },
    /// No answer in time; the write landed.
    Timeout,
    /// IBM refuses with this status (409, 400, 404, ...).
    Status(u16),
    /// The call does not return until the gate is opened.
    Gate(Arc<Notify>),
    /// The task panics.
    Panic,
}

#[derive(Clone, Default)]
pub struct Fake {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    groups: BTreeMap<AccessGroupId, Group>,
    users: BTreeMap<IamId, (Email, UserState)>,
    faults: VecDeque<(Call, Fault)>,
    /// Members an add or removal answers for with a per-member 400.
    refused: BTreeSet<IamId>,
    /// Members an add or removal's answer leaves out.
    omitted: BTreeSet<IamId>,
    /// Adds IBM answers 2xx for but does not carry out.
    swallowed: BTreeSet<IamId>,
    log: Vec<String>,
    max_attempts: Option<u32>,
    next: u64,
    policies: BTreeMap<PolicyId, LivePolicy>,
    roles: BTreeMap<RoleId, DesiredRole>,
    rules: BTreeMap<AccessGroupId, Vec<LiveRule>>,
}

struct Group {
    name: GroupName,
    members: BTreeSet<IamId>,
}

fn api(call: &str, status: u16) -> IamError {
    IamError::Api {
        call: call.into(),
        info: ApiErrorInfo {
            status: Some(status),
            code: Some(format!("fake_{status}")),
            message: format!("the fake answered {status}"),
            transaction_id: Some(format!("tx-{status}")),
        },
        attempts: 1,
    }
}

/// What the faults say a call does: `Err` to fail it (after `land`ing it or not), a gate
/// to wait for, or nothing.
enum Plan {
    Run,
    Fail { error: IamError, land: bool },
    Wait(Arc<Notify>),
}

impl Fake {
    pub fn new() -> Fake {
        Fake::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn group(self, name: &str, members: &[&str]) -> Fake {
        let id = AccessGroupId::new(format!("AccessGroupId-{name}"));
        self.lock().groups.insert(
            id,
            Group {
                name: GroupName::new(name),
                members: members.iter().map(|m| IamId::new(*m)).collect(),
            },
        );
        self
    }

    pub fn user(self, email: &str, iam_id: &str, state: UserState) -> Fake {
        self.lock()
            .users
            .insert(IamId::new(iam_id), (Email::new(email), state));
        self
    }

    /// The next call of kind `call` fails (or waits) so.
    pub fn fault(&self, call: Call, fault: Fault) {
        self.lock().faults.push_back((call, fault));
    }

    pub fn refuse(&self, member: &str) {
        self.lock().refused.insert(IamId::new(member));
    }

    pub fn omit(&self, member: &str) {
        self.lock().omitted.insert(IamId::new(member));
    }

    pub fn swallow(&self, member: &str) {
        self.lock().swallowed.insert(IamId::new(member));
    }

    pub fn max_attempts(self, n: u32) -> Fake {
        self.lock().max_attempts = Some(n);
        self
    }

    /// The groups' ids by name, as `apply` is given them.
    pub fn ids(&self) -> BTreeMap<GroupName, AccessGroupId> {
        let state = self.lock();
        state
            .groups
            .iter()
            .map(|(id, g)| (g.name.clone(), id.clone()))
            .collect()
    }

    /// A policy of `group` on `target` granting `roles`, created through `version`.
    pub fn policy(self, id: &str, group: &str, target: PolicyTarget, roles: &[&str]) -> Fake {
        let policy = LivePolicy {
            id: PolicyId::new(id),
            version: PolicyVersion::V1,
            group: AccessGroupId::new(format!("AccessGroupId-{group}")),
            shape: PolicyShape::Expressible(target),
            roles: roles.iter().map(|r| RoleCrn::new(*r)).collect(),
        };
        self.lock().policies.insert(policy.id.clone(), policy);
        self
    }

    /// A custom role of the account.
    pub fn role(self, id: &str, role: DesiredRole) -> Fake {
        self.lock().roles.insert(RoleId::new(id), role);
        self
    }

    /// A rule of `group`.
    pub fn rule(self, group: &str, rule: LiveRule) -> Fake {
        let id = AccessGroupId::new(format!("AccessGroupId-{group}"));
        self.lock().rules.entry(id).or_default().push(rule);
        self
    }

    /// The policies of `group`: (target, role CRNs sorted), sorted.
    pub fn policies_of(&self, group: &str) -> Vec<(PolicyTarget, Vec<String>)> {
        let id = AccessGroupId::new(format!("AccessGroupId-{group}"));
        let state = self.lock();
        let mut out: Vec<_> = state
            .policies
            .values()
            .filter(|p| p.group == id)
            .filter_map(|p| match &p.shape {
                PolicyShape::Expressible(t) => {
                    let mut roles: Vec<String> = p.roles.iter().map(|r| r.to_string()).collect();
                    roles.sort();
                    Some((t.clone(), roles))
                }
                PolicyShape::Unexpressible(_) => None,
            })
            .collect();
        out.sort();
        out
    }

    /// The custom roles' names and actions.
    pub fn roles(&self) -> Vec<(String, Vec<String>)> {
        let state = self.lock();
        state
            .roles
            .values()
            .map(|r| (r.name.to_string(), r.actions.iter().cloned().collect()))
            .collect()
    }

    /// The names of `group`'s rules.
    pub fn rules_of(&self, group: &str) -> Vec<String> {
        let id = AccessGroupId::new(format!("AccessGroupId-{group}"));
        let state = self.lock();
        state
            .rules
            .get(&id)
            .map(|rules| rules.iter().map(|r| r.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Every call so far, e.g. `invite a@x.org,b@x.org` or `pause 1`.
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    pub fn members(&self, group: &str) -> Vec<String> {
        let state = self.lock();
        state
            .groups
            .values()
            .find(|g| g.name.as_str() == group)
            .map(|g| g.members.iter().map(|m| m.as_str().to_string()).collect())
            .unwrap_or_default()
    }

    pub fn emails(&self) -> Vec<String> {
        let state = self.lock();
        state
            .users
            .values()
            .map(|(e, _)| e.as_str().to_string())
            .collect()
    }

    /// Logs the call and takes the first fault scripted for it.
    fn begin(&self, call: Call, line: String) -> Plan {
        let mut state = self.lock();
        state.log.push(line);
        let Some(i) = state.faults.iter().position(|(c, _)| *c == call) else {
            return Plan::Run;
        };
        let fault = state.faults.remove(i).map(|(_, f)| f);
        let route = format!("{call:?}");
        match fault {
            None => Plan::Run,
            Some(Fault::Unavailable { landed }) => Plan::Fail {
                error: api(&route, 503),
                land: landed,
            },
            Some(Fault::Timeout) => Plan::Fail {
                error: IamError::Timeout {
                    call: route,
                    timeout_secs: 1,
                    attempts: 1,
                },
                land: true,
            },
            Some(Fault::Status(status)) => Plan::Fail {
                error: api(&route, status),
                land: false,
            },
            Some(Fault::Gate(gate)) => Plan::Wait(gate),
            Some(Fault::Panic) => {
                drop(state);
                panic!("the fake was told to panic on {call:?}")
            }
        }
    }

    /// Runs `work` on the account as the faults for `call` say.
    async fn call<T>(
        &self,
        call: Call,
        line: String,
        work: impl FnOnce(&mut State) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        match self.begin(call, line) {
            Plan::Run => work(&mut self.lock()),
            Plan::Wait(gate) => {
                gate.notified().await;
                work(&mut self.lock())
            }
            Plan::Fail { error, land } => {
                if land {
                    let _ = work(&mut self.lock());
                }
                Err(error)
            }
        }
    }
}

impl State {
    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn group_mut(&mut self, id: &AccessGroupId, call: &str) -> Result<&mut Group, IamError> {
        self.groups.get_mut(id).ok_or_else(|| api(call, 404))
    }

    fn per_member(&self, ids: &[IamId], tx: &str) -> Vec<MemberOutcome> {
        ids.iter()
            .filter(|id| !self.omitted.contains(*id))
            .map(|id| MemberOutcome {
                iam_id: id.clone(),
                error: self.refused.contains(id).then(|| ApiErrorInfo {
                    status: Some(400),
                    code: Some("refused".into()),
                    message: format!("{id} cannot be a member"),
                    transaction_id: Some(tx.to_string()),
                }),
                already: false,
                transaction_id: Some(tx.to_string()),
            })
            .collect()
    }
}

fn live_role(account: &AccountId, id: &RoleId, role: &DesiredRole) -> LiveRole {
    LiveRole {
        crn: crate::model::custom_role_crn(account, &role.name),
        name: RoleName::new(role.name.as_str()),
        display_name: role.display_name.clone(),
        description: role.description.clone().unwrap_or_default(),
        actions: role.actions.iter().cloned().collect(),
        service: role.service.clone(),
        kind: RoleKind::Custom { id: id.clone() },
    }
}

/// `quantum-computing/g-1`: a target in a log line.
fn policy_label(target: &PolicyTarget) -> String {
    let parts = [
        target.service.as_ref().map(ServiceName::as_str),
        target.instance_id.as_ref().map(|i| i.as_str()),
        target.resource_group_id.as_ref().map(|r| r.as_str()),
    ];
    parts
        .iter()
        .flatten()
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

fn live_user(iam_id: &IamId, (email, state): &(Email, UserState)) -> LiveUser {
    LiveUser {
        iam_id: iam_id.clone(),
        email: email.clone(),
        state: state.clone(),
        added_on: None,
    }
}

impl IamRead for Fake {
    async fn list_users(&self, _: &AccountId) -> Result<Vec<LiveUser>, IamError> {
        self.call(Call::ListUsers, "list_users".into(), |s| {
            Ok(s.users.iter().map(|(id, u)| live_user(id, u)).collect())
        })
        .await
    }

    async fn get_user(&self, _: &AccountId, iam_id: &IamId) -> Result<Option<LiveUser>, IamError> {
        self.call(Call::GetUser, format!("get_user {iam_id}"), |s| {
            Ok(s.users.get(iam_id).map(|u| live_user(iam_id, u)))
        })
        .await
    }

    async fn list_groups(&self, _: &AccountId) -> Result<Vec<LiveGroup>, IamError> {
        self.call(Call::ListGroups, "list_groups".into(), |s| {
            Ok(s.groups
                .iter()
                .map(|(id, g)| LiveGroup {
                    id: id.clone(),
                    name: g.name.clone(),
                    description: String::new(),
                    members: None,
                    policies: None,
                    rules: None,
                })
                .collect())
        })
        .await
    }

    async fn list_members(
        &self,
        group: &AccessGroupId,
        bulk: bool,
    ) -> Result<Vec<LiveMember>, IamError> {
        let line = format!("list_members {group}{}", if bulk { " (bulk)" } else { "" });
        self.call(Call::ListMembers, line, |s| {
            let g = s.group_mut(group, "list_members")?;
            Ok(g.members
                .iter()
                .map(|id| LiveMember {
                    iam_id: id.clone(),
                    kind: MemberKind::User,
                    membership: Default::default(),
                })
                .collect())
        })
        .await
    }

    async fn list_policies(
        &self,
        _: &AccountId,
        group: Option<&AccessGroupId>,
        _: bool,
    ) -> Result<Vec<LivePolicy>, IamError> {
        let line = match group {
            Some(g) => format!("list_policies {g}"),
            None => "list_policies".into(),
        };
        self.call(Call::ListPolicies, line, |s| {
            Ok(s.policies
                .values()
                .filter(|p| group.is_none_or(|g| p.group == *g))
                .cloned()
                .collect())
        })
        .await
    }

    async fn list_roles(
        &self,
        account: &AccountId,
        service: &ServiceName,
    ) -> Result<Vec<LiveRole>, IamError> {
        self.call(Call::ListRoles, format!("list_roles {service}"), |s| {
            Ok(s.roles
                .iter()
                .filter(|(_, r)| r.service == *service)
                .map(|(id, r)| live_role(account, id, r))
                .collect())
        })
        .await
    }

    async fn list_rules(&self, group: &AccessGroupId) -> Result<Vec<LiveRule>, IamError> {
        self.call(Call::ListRules, format!("list_rules {group}"), |s| {
            Ok(s.rules.get(group).cloned().unwrap_or_default())
        })
        .await
    }

    fn users_last_listed(&self) -> Option<usize> {
        None
    }

    fn parallelism(&self) -> usize {
        8
    }
}

impl IamWrite for Fake {
    async fn create_group(
        &self,
        _: &AccountId,
        name: &GroupName,
        description: &str,
    ) -> Result<CreatedGroup, IamError> {
        self.call(Call::CreateGroup, format!("create_group {name}"), |s| {
            if s.groups.values().any(|g| g.name == *name) {
                return Err(api("create_group", 409));
            }
            let id = AccessGroupId::new(format!("AccessGroupId-{name}"));
            s.groups.insert(
                id.clone(),
                Group {
                    name: name.clone(),
                    members: BTreeSet::new(),
                },
            );
            Ok(CreatedGroup {
                id,
                name: name.clone(),
                description: description.to_string(),
                transaction_id: Some(format!("tx-create-{name}")),
            })
        })
        .await
    }

    async fn update_group_description(
        &self,
        group: &AccessGroupId,
        _: &str,
    ) -> Result<Option<String>, IamError> {
        self.call(Call::Update, format!("update {group}"), |s| {
            s.group_mut(group, "update")?;
            Ok(Some(format!("tx-update-{group}")))
        })
        .await
    }

    async fn invite_users(
        &self,
        _: &AccountId,
        emails: &[Email],
        groups: &[AccessGroupId],
    ) -> Result<Vec<InvitedUser>, IamError> {
        let list: Vec<&str> = emails.iter().map(Email::as_str).collect();
        self.call(Call::Invite, format!("invite {}", list.join(",")), |s| {
            // IBM blocks a batch naming an email whose invitation is still processing.
            let processing = s
                .users
                .values()
                .any(|(e, st)| emails.contains(e) && *st == UserState::Processing);
            if processing {
                return Err(api("invite", 409));
            }
            let tx = format!("tx-invite-{}", s.id());
            let mut out = Vec::new();
            for email in emails {
                let iam_id = IamId::new(format!("IBMid-{}", email.as_str()));
                s.users
                    .insert(iam_id.clone(), (email.clone(), UserState::Processing));
                for group in groups {
                    if let Some(g) = s.groups.get_mut(group) {
                        g.members.insert(iam_id.clone());
                    }
                }
                out.push(InvitedUser {
                    email: email.clone(),
                    iam_id: Some(iam_id),
                    state: UserState::Processing,
                    transaction_id: Some(tx.clone()),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn add_members(
        &self,
        group: &AccessGroupId,
        members: &[(IamId, MemberKind)],
    ) -> Result<Vec<MemberOutcome>, IamError> {
        let ids: Vec<IamId> = members.iter().map(|(id, _)| id.clone()).collect();
        self.call(Call::Add, format!("add {group} {}", ids.len()), |s| {
            let tx = format!("tx-add-{}", s.id());
            let answer = s.per_member(&ids, &tx);
            let (refused, swallowed) = (s.refused.clone(), s.swallowed.clone());
            let g = s.group_mut(group, "add")?;
            for id in &ids {
                if !refused.contains(id) && !swallowed.contains(id) {
                    g.members.insert(id.clone());
                }
            }
            Ok(answer)
        })
        .await
    }

    async fn remove_members(
        &self,
        group: &AccessGroupId,
        members: &[IamId],
    ) -> Result<Vec<MemberOutcome>, IamError> {
        self.call(
            Call::Remove,
            format!("remove {group} {}", members.len()),
            |s| {
                let tx = format!("tx-remove-{}", s.id());
                let answer = s.per_member(members, &tx);
                let refused = s.refused.clone();
                let g = s.group_mut(group, "remove")?;
                for id in members.iter().filter(|id| !refused.contains(*id)) {
                    g.members.remove(id);
                }
                Ok(answer)
            },
        )
        .await
    }

    async fn remove_user(&self, _: &AccountId, iam_id: &IamId) -> Result<UserRemoval, IamError> {
        self.call(Call::RemoveUser, format!("remove_user {iam_id}"), |s| {
            s.users
                .remove(iam_id)
                .ok_or_else(|| api("remove_user", 404))?;
            for g in s.groups.values_mut() {
                g.members.remove(iam_id);
            }
            Ok(UserRemoval {
                already_gone: false,
                transaction_id: Some(format!("tx-remove-user-{iam_id}")),
            })
        })
        .await
    }

    async fn create_policy(
        &self,
        _: &AccountId,
        group: &AccessGroupId,
        target: &PolicyTarget,
        roles: &[RoleCrn],
    ) -> Result<CreatedPolicy, IamError> {
        let line = format!("create_policy {group} {}", policy_label(target));
        self.call(Call::CreatePolicy, line, |s| {
            let taken = s.policies.values().any(|p| {
                p.group == *group && matches!(&p.shape, PolicyShape::Expressible(t) if t == target)
            });
            if taken {
                return Err(api("create_policy", 409));
            }
            let id = PolicyId::new(format!("policy-{}", s.id()));
            s.policies.insert(
                id.clone(),
                LivePolicy {
                    id: id.clone(),
                    version: PolicyVersion::V2,
                    group: group.clone(),
                    shape: PolicyShape::Expressible(target.clone()),
                    roles: roles.to_vec(),
                },
            );
            Ok(CreatedPolicy {
                transaction_id: Some(format!("tx-{id}")),
                id,
                version: PolicyVersion::V2,
            })
        })
        .await
    }

    async fn replace_policy(
        &self,
        _: &AccountId,
        _: &AccessGroupId,
        policy: &PolicyId,
        version: PolicyVersion,
        _: &PolicyTarget,
        roles: &[RoleCrn],
    ) -> Result<Option<String>, IamError> {
        let line = format!("replace_policy {policy} {version}");
        self.call(Call::ReplacePolicy, line, |s| {
            let p = s
                .policies
                .get_mut(policy)
                .ok_or_else(|| api("replace_policy", 404))?;
            p.roles = roles.to_vec();
            Ok(Some(format!("tx-replace-{policy}")))
        })
        .await
    }

    async fn delete_policy(
        &self,
        policy: &PolicyId,
        version: PolicyVersion,
    ) -> Result<Deleted, IamError> {
        let line = format!("delete_policy {policy} {version}");
        self.call(Call::DeletePolicy, line, |s| {
            let gone = s.policies.remove(policy).is_none();
            Ok(Deleted {
                already_gone: gone,
                transaction_id: Some(format!("tx-delete-{policy}")),
            })
        })
        .await
    }

    async fn create_role(
        &self,
        _: &AccountId,
        role: &DesiredRole,
    ) -> Result<CreatedRole, IamError> {
        self.call(
            Call::CreateRole,
            format!("create_role {}", role.name),
            |s| {
                if s.roles.values().any(|r| r.name == role.name) {
                    return Err(api("create_role", 409));
                }
                let id = RoleId::new(format!("role-{}", s.id()));
                s.roles.insert(id.clone(), role.clone());
                Ok(CreatedRole {
                    transaction_id: Some(format!("tx-{id}")),
                    id,
                    crn: None,
                })
            },
        )
        .await
    }

    async fn update_role(
        &self,
        id: &RoleId,
        role: &DesiredRole,
    ) -> Result<Option<String>, IamError> {
        self.call(Call::UpdateRole, format!("update_role {id}"), |s| {
            let live = s.roles.get_mut(id).ok_or_else(|| api("update_role", 404))?;
            *live = role.clone();
            Ok(Some(format!("tx-update-{id}")))
        })
        .await
    }

    async fn create_rule(
        &self,
        group: &AccessGroupId,
        rule: &DesiredRule,
    ) -> Result<CreatedRule, IamError> {
        self.call(
            Call::CreateRule,
            format!("create_rule {group} {}", rule.name),
            |s| {
                let id = RuleId::new(format!("rule-{}", s.id()));
                s.rules.entry(group.clone()).or_default().push(LiveRule {
                    id: id.clone(),
                    name: rule.name.clone(),
                    realm: rule.realm.clone(),
                    expiration_hours: rule.expiration_hours,
                    conditions: rule.conditions.clone(),
                    unreadable_conditions: 0,
                });
                Ok(CreatedRule {
                    transaction_id: Some(format!("tx-{id}")),
                    id,
                })
            },
        )
        .await
    }

    async fn update_rule(
        &self,
        group: &AccessGroupId,
        id: &RuleId,
        rule: &DesiredRule,
    ) -> Result<Option<String>, IamError> {
        self.call(Call::UpdateRule, format!("update_rule {group} {id}"), |s| {
            let live = s
                .rules
                .get_mut(group)
                .and_then(|rules| rules.iter_mut().find(|r| r.id == *id))
                .ok_or_else(|| api("update_rule", 404))?;
            live.realm = rule.realm.clone();
            live.expiration_hours = rule.expiration_hours;
            live.conditions = rule.conditions.clone();
            Ok(Some(format!("tx-update-{id}")))
        })
        .await
    }

    async fn delete_rule(&self, group: &AccessGroupId, id: &RuleId) -> Result<Deleted, IamError> {
        self.call(Call::DeleteRule, format!("delete_rule {group} {id}"), |s| {
            let rules = s.rules.entry(group.clone()).or_default();
            let before = rules.len();
            rules.retain(|r| r.id != *id);
            Ok(Deleted {
                already_gone: rules.len() == before,
                transaction_id: Some(format!("tx-delete-{id}")),
            })
        })
        .await
    }

    fn max_attempts(&self) -> u32 {
        self.lock().max_attempts.unwrap_or(8)
    }

    fn backoff(&self, round: u32) -> impl Future<Output = ()> + Send {
        self.lock().log.push(format!("pause {round}"));
        std::future::ready(())
    }
}
