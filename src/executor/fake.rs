//! An account in memory behind [`IamRead`] and [`IamWrite`], for the executor's tests:
//! no HTTP, scripted faults, and a log of every call in the order it was made.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::account::{IamRead, IamWrite};
use crate::iam::{ApiErrorInfo, CreatedGroup, IamError, InvitedUser, MemberOutcome, UserRemoval};
use crate::model::{
    AccessGroupId, AccountId, Email, GroupName, IamId, LiveGroup, LiveMember, LiveUser, MemberKind,
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

    fn max_attempts(&self) -> u32 {
        self.lock().max_attempts.unwrap_or(8)
    }

    fn backoff(&self, round: u32) -> impl Future<Output = ()> + Send {
        self.lock().log.push(format!("pause {round}"));
        std::future::ready(())
    }
}
