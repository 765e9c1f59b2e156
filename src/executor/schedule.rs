//! When each job runs. A job starts as soon as what it depends on has finished, up to
//! `parallelism` jobs at once, and none starts after an interruption:
//! - adds, invites, policy and rule changes naming a group this apply creates wait for
//!   its id (and are skipped if the create failed);
//! - a policy create or update granting a custom role this apply creates waits for that
//!   create (and is skipped if it failed);
//! - removals from a group, and removals of users from the account, wait until every add
//!   and invite into the groups they touch has finished (see [`Job::fills`]);
//! - revocations in a group (a policy or rule removed, a policy replaced with a role
//!   fewer) wait until every grant in that group (a policy created or widened, a rule
//!   created or replaced) has finished (see [`Job::grants`]);
//! - everything else is independent. There are no phase barriers, so one slow or retried
//!   call holds back only what truly depends on it.
//!
//! The scheduler knows jobs only by what they name; how a job is carried out is the
//! `start` function it is given.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

use tokio::sync::watch;
use tokio::task::{self, JoinSet};

use super::jobs::{Done, Job, Outcome, Outcomes};
use super::report::{Problem, SkipReason, Status, Unknown};
use crate::model::{AccessGroupId, GroupName, RoleName};

pub(super) struct Scheduler {
    waiting: Vec<Job>,
    deps: Dependencies,
    tasks: JoinSet<Done>,
    /// What each running task is about, kept outside the task so that even a task that
    /// panicked releases its dependants.
    running: HashMap<task::Id, Running>,
    slots: usize,
    interrupt: Option<watch::Receiver<bool>>,
    stopping: bool,
}

/// What a job releases when it ends.
#[derive(Clone, Debug, Default)]
pub(super) struct Running {
    pub indices: Vec<usize>,
    pub fills: Vec<GroupName>,
    pub creates: Option<GroupName>,
    pub grants: Option<GroupName>,
    pub creates_role: Option<RoleName>,
}

impl Running {
    pub fn of(job: &Job) -> Running {
        Running {
            indices: job.indices(),
            fills: job.fills().into_iter().cloned().collect(),
            creates: job.creates().cloned(),
            grants: job.grants().cloned(),
            creates_role: job.creates_role().cloned(),
        }
    }
}

/// How a job ended, for what waits on it.
pub(super) struct Ended {
    /// A group create's new id (`None`: it failed).
    pub created: Option<AccessGroupId>,
    /// Whether every change of the job was applied (a role create's success).
    pub applied: bool,
}

enum Event {
    Finished(task::Id, Option<Done>),
    Interrupted,
    /// Nothing is running.
    Idle,
}

impl Scheduler {
    /// `ids` maps the account's group names to their ids; `interrupt` turning `true`
    /// stops the apply (calls in flight finish, nothing new starts).
    pub fn new(
        jobs: Vec<Job>,
        ids: BTreeMap<GroupName, AccessGroupId>,
        parallelism: usize,
        interrupt: Option<watch::Receiver<bool>>,
    ) -> Scheduler {
        let deps = Dependencies::of(&jobs, ids);
        Scheduler {
            waiting: jobs,
            deps,
            tasks: JoinSet::new(),
            running: HashMap::new(),
            slots: parallelism.max(1),
            stopping: interrupt.as_ref().is_some_and(|rx| *rx.borrow()),
            interrupt,
        }
    }

    /// Runs every job through `start` on a task of its own, handing each job's outcomes
    /// to `record` as they become known. Returns the group ids: the account's, plus those
    /// of the groups created.
    pub async fn run<S, F>(
        mut self,
        start: S,
        record: &mut impl FnMut(Outcomes),
    ) -> BTreeMap<GroupName, AccessGroupId>
    where
        S: Fn(Job, Vec<AccessGroupId>) -> F,
        F: Future<Output = Done> + Send + 'static,
    {
        loop {
            if self.stopping {
                record(self.skip_waiting(SkipReason::Interrupted));
            }
            record(self.start_ready(&start));
            match self.next().await {
                Event::Finished(id, done) => record(self.finish(id, done)),
                Event::Interrupted => self.stopping = true,
                Event::Idle => break,
            }
        }
        // Nothing left running, yet jobs wait: only possible if a dependency was never
        // released. Say so rather than hang or pretend.
        record(self.skip_waiting(SkipReason::Unreleased));
        self.deps.ids
    }

    /// Starts every job whose dependencies are settled, while slots are free. Returns the
    /// outcomes of the jobs skipped instead; skipping one may settle others, so this goes
    /// round until nothing changes.
    fn start_ready<S, F>(&mut self, start: &S) -> Outcomes
    where
        S: Fn(Job, Vec<AccessGroupId>) -> F,
        F: Future<Output = Done> + Send + 'static,
    {
        let mut skipped = Vec::new();
        loop {
            let mut progressed = false;
            for job in std::mem::take(&mut self.waiting) {
                let readiness = if self.tasks.len() < self.slots {
                    self.deps.readiness(&job)
                } else {
                    Readiness::Wait
                };
                match readiness {
                    Readiness::Wait => self.waiting.push(job),
                    Readiness::Skip(why) => {
                        skipped.extend(skip(&job, &why));
                        let ended = Ended {
                            created: None,
                            applied: false,
                        };
                        self.deps.finished(&Running::of(&job), &ended);
                        progressed = true;
                    }
                    Readiness::Ready(ids) => {
                        let meta = Running::of(&job);
                        let handle = self.tasks.spawn(start(job, ids));
                        self.running.insert(handle.id(), meta);
                    }
                }
            }
            if !progressed {
                return skipped;
            }
        }
    }

    /// The next job to finish, or an interruption.
    async fn next(&mut self) -> Event {
        let joined = match self.interrupt.as_mut().filter(|_| !self.stopping) {
            Some(rx) => tokio::select! {
                joined = self.tasks.join_next_with_id() => joined,
                Ok(_) = rx.wait_for(|stop| *stop) => return Event::Interrupted,
            },
            None => self.tasks.join_next_with_id().await,
        };
        match joined {
            None => Event::Idle,
            Some(Ok((id, done))) => Event::Finished(id, Some(done)),
            Some(Err(e)) => Event::Finished(e.id(), None),
        }
    }

    /// A job ended: release what waited on it, and return its outcomes.
    fn finish(&mut self, id: task::Id, done: Option<Done>) -> Outcomes {
        let Some(meta) = self.running.remove(&id) else {
            return Vec::new();
        };
        let (outcomes, created) = match done {
            Some(done) => (done.outcomes, done.created),
            // A task that panicked: its changes are failures of unknown effect, and what
            // depends on them is released (removals) or skipped (a lost create).
            None => {
                let lost = Outcome::failed(Problem::Unknown(Unknown::Lost));
                let outcomes = meta.indices.iter().map(|i| (*i, lost.clone())).collect();
                (outcomes, None)
            }
        };
        let ended = Ended {
            created,
            applied: !outcomes.is_empty()
                && outcomes.iter().all(|(_, o)| o.status == Status::Applied),
        };
        self.deps.finished(&meta, &ended);
        outcomes
    }

    fn skip_waiting(&mut self, why: SkipReason) -> Outcomes {
        self.waiting
            .drain(..)
            .flat_map(|job| skip(&job, &why))
            .collect()
    }
}

fn skip(job: &Job, why: &SkipReason) -> Outcomes {
    let outcome = Outcome::skipped(why.clone());
    job.indices()
        .into_iter()
        .map(|i| (i, outcome.clone()))
        .collect()
}

/// What the jobs wait on: groups and roles being created, groups still being filled or
/// granted access in.
#[derive(Default)]
pub(super) struct Dependencies {
    /// Group ids: the account's, plus those of groups this apply created.
    ids: BTreeMap<GroupName, AccessGroupId>,
    /// Groups whose creation has not finished.
    creating: BTreeSet<GroupName>,
    /// Groups whose creation failed: whatever names them is skipped.
    lost: BTreeSet<GroupName>,
    /// Per group, the add and invite jobs not yet finished.
    filling: BTreeMap<GroupName, usize>,
    /// Per group, the grant jobs (policies created or widened, rules) not yet finished.
    granting: BTreeMap<GroupName, usize>,
    /// Custom roles whose creation has not finished.
    creating_roles: BTreeSet<RoleName>,
    /// Custom roles whose creation failed: policies granting them are skipped.
    lost_roles: BTreeSet<RoleName>,
}

pub(super) enum Readiness {
    /// Start it, with the ids of the groups it names.
    Ready(Vec<AccessGroupId>),
    Wait,
    Skip(SkipReason),
}

impl Dependencies {
    pub fn of(jobs: &[Job], ids: BTreeMap<GroupName, AccessGroupId>) -> Dependencies {
        let mut deps = Dependencies {
            ids,
            ..Dependencies::default()
        };
        for job in jobs {
            deps.creating.extend(job.creates().cloned());
            deps.creating_roles.extend(job.creates_role().cloned());
            for group in job.fills() {
                *deps.filling.entry(group.clone()).or_default() += 1;
            }
            if let Some(group) = job.grants() {
                *deps.granting.entry(group.clone()).or_default() += 1;
            }
        }
        deps
    }

    pub fn readiness(&self, job: &Job) -> Readiness {
        if let Some(role) = job
            .needs_roles()
            .iter()
            .find(|r| self.lost_roles.contains(*r))
        {
            return Readiness::Skip(SkipReason::RoleCreateFailed(role.clone()));
        }
        if job
            .needs_roles()
            .iter()
            .any(|r| self.creating_roles.contains(r))
        {
            return Readiness::Wait;
        }
        let (named, planned): (Vec<&GroupName>, Option<&AccessGroupId>) = match job {
            Job::Invite { groups, .. } => (groups.iter().collect(), None),
            Job::Add {
                group, group_id, ..
            }
            | Job::CreatePolicy {
                group, group_id, ..
            }
            | Job::CreateRule {
                group, group_id, ..
            } => (vec![group], group_id.as_ref()),
            Job::UpdatePolicy {
                group, group_id, ..
            }
            | Job::UpdateRule {
                group, group_id, ..
            } => (vec![group], Some(group_id)),
            Job::Remove { group, .. } => {
                return self.after_filling(std::slice::from_ref(group));
            }
            Job::RemoveUser { groups, .. } => return self.after_filling(groups),
            Job::RemovePolicy { .. } | Job::RemoveRule { .. } => (Vec::new(), None),
            Job::Create { .. }
            | Job::Update { .. }
            | Job::CreateRole { .. }
            | Job::UpdateRole { .. } => return Readiness::Ready(Vec::new()),
        };
        if let Some(group) = job.revokes()
            && self.granting.get(group).is_some_and(|n| *n > 0)
        {
            return Readiness::Wait;
        }
        if let Some(lost) = named.iter().find(|g| self.lost.contains(**g)) {
            return Readiness::Skip(SkipReason::CreateFailed((*lost).clone()));
        }
        if named.iter().any(|g| self.creating.contains(*g)) {
            return Readiness::Wait;
        }
        let mut ids = Vec::with_capacity(named.len());
        for group in named {
            match planned.or_else(|| self.ids.get(group)) {
                Some(id) => ids.push(id.clone()),
                None => return Readiness::Skip(SkipReason::NoGroupId(group.clone())),
            }
        }
        Readiness::Ready(ids)
    }

    fn after_filling(&self, groups: &[GroupName]) -> Readiness {
        if groups
            .iter()
            .any(|g| self.filling.get(g).is_some_and(|n| *n > 0))
        {
            Readiness::Wait
        } else {
            Readiness::Ready(Vec::new())
        }
    }

    /// A job ended (or was skipped): release what waited on it.
    pub fn finished(&mut self, job: &Running, ended: &Ended) {
        for group in &job.fills {
            if let Some(n) = self.filling.get_mut(group) {
                *n = n.saturating_sub(1);
            }
        }
        if let Some(group) = &job.grants
            && let Some(n) = self.granting.get_mut(group)
        {
            *n = n.saturating_sub(1);
        }
        if let Some(group) = &job.creates {
            self.creating.remove(group);
            match &ended.created {
                Some(id) => {
                    self.ids.insert(group.clone(), id.clone());
                }
                None => {
                    self.lost.insert(group.clone());
                }
            }
        }
        if let Some(role) = &job.creates_role {
            self.creating_roles.remove(role);
            if !ended.applied {
                self.lost_roles.insert(role.clone());
            }
        }
    }
}
