//! Planner tests: small builders for desired and live state, one test per rule of
//! docs/reconciliation.md, a property test over random pairs, snapshots of the renderings,
//! the refusals of `apply`, and the export decision.

mod access;
mod dynamic;
mod export;
mod guard;
mod property;
mod render;
mod rules;
mod second_wave;
mod trust;

use crate::model::{
    AccessGroupId, AccountId, Date, DesiredAccess, DesiredGroup, DesiredRole, DesiredRule,
    DesiredState, DesiredUser, Email, GroupName, GroupRef, IamId, InstanceGuid, InstanceRef,
    LiveGroup, LiveInstance, LiveMember, LivePolicy, LiveResourceGroup, LiveRole, LiveRule,
    LiveState, LiveUser, MemberKind, Membership, PLATFORM_ROLES, Policy, PolicyId, PolicyShape,
    PolicyTarget, PolicyVersion, ResourceGroupId, ResourceGroupRef, RoleCrn, RoleId, RoleKind,
    RoleName, RuleCondition, RuleId, RuleOperator, SERVICE_ROLES, ServiceName, UnlistedUsers,
    UserState, custom_role_crn,
};
use crate::plan::{Change, Options, Plan, plan};

pub(crate) const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub(crate) const CALLER: &str = "iam-ServiceId-orgsync";

pub(crate) fn today() -> Date {
    Date::from_ymd(2026, 6, 1).expect("a valid date")
}

pub(crate) fn day(offset: i64) -> Date {
    today().add_days(offset)
}

/// The iam_id the builders give a user: derived from the email, so tests can name it.
pub(crate) fn iam(email: &str) -> IamId {
    IamId::new(format!(
        "IBMid-{}",
        email.split('@').next().unwrap_or(email)
    ))
}

pub(crate) fn group_id(name: &str) -> AccessGroupId {
    AccessGroupId::new(format!("AccessGroupId-{}", name.to_lowercase()))
}

pub(crate) struct Desired(pub DesiredState);

pub(crate) fn desired() -> Desired {
    Desired(DesiredState {
        account_id: AccountId::new(ACCOUNT),
        policy: Policy::default(),
        groups: Default::default(),
        users: Default::default(),
        roles: Default::default(),
    })
}

impl Desired {
    pub fn group(mut self, name: &str) -> Self {
        self.0.groups.insert(
            GroupName::new(name),
            DesiredGroup {
                name: GroupName::new(name),
                description: None,
                access: None,
                rules: None,
            },
        );
        self
    }

    pub fn described(mut self, name: &str, description: &str) -> Self {
        self.0.groups.insert(
            GroupName::new(name),
            DesiredGroup {
                name: GroupName::new(name),
                description: Some(description.to_string()),
                access: None,
                rules: None,
            },
        );
        self
    }

    /// A user in `groups`; groups not yet declared are declared (config guarantees it).
    pub fn user(self, email: &str, groups: &[&str]) -> Self {
        self.user_until(email, groups, None)
    }

    pub fn expiring(self, email: &str, groups: &[&str], expires: Date) -> Self {
        self.user_until(email, groups, Some(expires))
    }

    fn user_until(mut self, email: &str, groups: &[&str], expires: Option<Date>) -> Self {
        for g in groups {
            if !self.0.groups.contains_key(&GroupName::new(*g)) {
                self = self.group(g);
            }
        }
        self.0.users.insert(
            Email::new(email),
            DesiredUser {
                email: Email::new(email),
                groups: groups.iter().map(|g| GroupName::new(*g)).collect(),
                expires,
            },
        );
        self
    }

    pub fn protect(mut self, email: &str) -> Self {
        self.0.policy.protected.insert(Email::new(email));
        self
    }

    pub fn remove_unlisted(mut self) -> Self {
        self.0.policy.unlisted_users = UnlistedUsers::Remove;
        self
    }

    pub fn no_group_creation(mut self) -> Self {
        self.0.policy.create_groups = false;
        self
    }

    /// The group's `access` (declaring the group when it is not yet).
    pub fn access(mut self, group: &str, entries: Vec<DesiredAccess>) -> Self {
        self.declared(group).access = Some(entries);
        self
    }

    /// The group's `rules` (declaring the group when it is not yet).
    pub fn rules(mut self, group: &str, rules: Vec<DesiredRule>) -> Self {
        self.declared(group).rules = Some(rules);
        self
    }

    /// A custom role under `roles:`.
    pub fn role(
        mut self,
        name: &str,
        service: &str,
        display_name: &str,
        description: Option<&str>,
        actions: &[&str],
    ) -> Self {
        self.0.roles.insert(
            RoleName::new(name),
            DesiredRole {
                name: RoleName::new(name),
                service: ServiceName::new(service),
                display_name: display_name.to_string(),
                description: description.map(str::to_string),
                actions: actions.iter().map(|a| a.to_string()).collect(),
            },
        );
        self
    }

    fn declared(&mut self, group: &str) -> &mut DesiredGroup {
        self.0
            .groups
            .entry(GroupName::new(group))
            .or_insert_with(|| DesiredGroup {
                name: GroupName::new(group),
                ..DesiredGroup::default()
            })
    }
}

pub(crate) const QC: &str = "quantum-computing";
pub(crate) const COS: &str = "cloud-object-storage";

/// An `access` entry: `service`, `instance` (by name, or by GUID when it starts with
/// `guid:`, by CRN when it starts with `crn:`), `resource_group` (by name, or by id when
/// it starts with `id:`), roles.
pub(crate) fn entry(
    service: Option<&str>,
    instance: Option<&str>,
    resource_group: Option<&str>,
    roles: &[&str],
) -> DesiredAccess {
    DesiredAccess {
        service: service.map(ServiceName::new),
        instance: instance.map(|i| {
            if let Some(guid) = i.strip_prefix("guid:") {
                InstanceRef::Guid(InstanceGuid::new(guid))
            } else if i.starts_with("crn:") {
                InstanceRef::Crn(i.to_string())
            } else {
                InstanceRef::Name(i.to_string())
            }
        }),
        resource_group: resource_group.map(|g| match g.strip_prefix("id:") {
            Some(id) => ResourceGroupRef::Id(ResourceGroupId::new(id)),
            None => ResourceGroupRef::Name(g.to_string()),
        }),
        roles: roles.iter().map(|r| RoleName::new(*r)).collect(),
    }
}

pub(crate) fn condition(claim: &str, operator: RuleOperator, value: &str) -> RuleCondition {
    RuleCondition {
        claim: claim.to_string(),
        operator,
        value: value.to_string(),
    }
}

pub(crate) const REALM: &str = "https://us-south.appid.cloud.ibm.com/oauth/v4/tenant-1";

/// A declared rule on [`REALM`] with 24-hour sessions.
pub(crate) fn rule(name: &str, conditions: Vec<RuleCondition>) -> DesiredRule {
    DesiredRule {
        name: name.to_string(),
        realm: REALM.to_string(),
        expiration_hours: 24,
        conditions,
    }
}

/// The live form of a declared rule, with an id.
pub(crate) fn live_rule(id: &str, rule: &DesiredRule) -> LiveRule {
    LiveRule {
        id: RuleId::new(id),
        name: rule.name.clone(),
        realm: rule.realm.clone(),
        expiration_hours: rule.expiration_hours,
        conditions: rule.conditions.clone(),
        unreadable_conditions: 0,
    }
}

/// The CRN of one of IBM's roles: a platform role (`Viewer`) or a service role (`Reader`).
pub(crate) fn ibm_role(name: &str) -> RoleCrn {
    if PLATFORM_ROLES.contains(&name) {
        RoleCrn::new(format!("crn:v1:bluemix:public:iam::::role:{name}"))
    } else {
        RoleCrn::new(format!("crn:v1:bluemix:public:iam::::serviceRole:{name}"))
    }
}

/// The CRN of a custom role of the builders' account.
pub(crate) fn custom(name: &str) -> RoleCrn {
    custom_role_crn(&AccountId::new(ACCOUNT), &RoleName::new(name))
}

pub(crate) fn instance_guid(name: &str) -> InstanceGuid {
    InstanceGuid::new(format!("guid-{}", name.to_lowercase()))
}

/// A policy target as IBM stores it.
pub(crate) fn target(
    service: Option<&str>,
    instance: Option<&InstanceGuid>,
    resource_group: Option<&str>,
) -> PolicyTarget {
    PolicyTarget {
        service: service.map(ServiceName::new),
        instance_id: instance.cloned(),
        resource_group_id: resource_group.map(ResourceGroupId::new),
    }
}

pub(crate) struct Live(pub LiveState);

pub(crate) fn live() -> Live {
    Live(LiveState {
        account_id: AccountId::new(ACCOUNT),
        caller: IamId::new(CALLER),
        users: Vec::new(),
        groups: Vec::new(),
        roles: Vec::new(),
        instances: Vec::new(),
        resource_groups: Vec::new(),
        user_groups: Default::default(),
    })
}

impl Live {
    pub fn user(self, email: &str) -> Self {
        self.user_in(email, UserState::Active)
    }

    pub fn user_in(self, email: &str, state: UserState) -> Self {
        self.user_since(email, state, day(-3))
    }

    pub fn user_since(mut self, email: &str, state: UserState, added_on: Date) -> Self {
        self.0.users.push(LiveUser {
            iam_id: iam(email),
            email: Email::new(email),
            state,
            added_on: Some(added_on),
        });
        self
    }

    pub fn group(self, name: &str) -> Self {
        self.described(name, "")
    }

    pub fn described(mut self, name: &str, description: &str) -> Self {
        self.0.groups.push(LiveGroup {
            id: group_id(name),
            name: GroupName::new(name),
            description: description.to_string(),
            members: Some(Vec::new()),
            policies: None,
            rules: None,
        });
        self
    }

    /// A group orgsync does not manage, as `iam::acquire` delivers it: members not read.
    pub fn unread_group(mut self, name: &str) -> Self {
        self.0.groups.push(LiveGroup {
            id: group_id(name),
            name: GroupName::new(name),
            description: String::new(),
            members: None,
            policies: None,
            rules: None,
        });
        self
    }

    /// The user with this email (by the builders' iam_id) as a member of `group`.
    pub fn member(self, group: &str, email: &str) -> Self {
        self.member_id(group, iam(email).as_str(), "user")
    }

    pub fn member_id(mut self, group: &str, iam_id: &str, kind: &str) -> Self {
        let member = LiveMember {
            iam_id: IamId::new(iam_id),
            kind: MemberKind::parse(kind),
            membership: Default::default(),
        };
        if let Some(g) = self
            .0
            .groups
            .iter_mut()
            .find(|g| g.name == GroupName::new(group))
        {
            g.members.get_or_insert_with(Vec::new).push(member);
        }
        self
    }

    pub fn caller(mut self, iam_id: &str) -> Self {
        self.0.caller = IamId::new(iam_id);
        self
    }

    /// IBM's platform and service roles for `service`, as `GET /v2/roles` lists them.
    pub fn ibm_roles(mut self, service: &str) -> Self {
        for (names, kind) in [
            (&PLATFORM_ROLES[..], RoleKind::Platform),
            (&SERVICE_ROLES[..], RoleKind::Service),
        ] {
            for name in names {
                self.0.roles.push(LiveRole {
                    crn: ibm_role(name),
                    name: RoleName::new(*name),
                    display_name: name.to_string(),
                    description: String::new(),
                    actions: Vec::new(),
                    service: ServiceName::new(service),
                    kind: kind.clone(),
                });
            }
        }
        self
    }

    /// A custom role of the account.
    pub fn custom_role(
        mut self,
        name: &str,
        service: &str,
        display_name: &str,
        description: &str,
        actions: &[&str],
    ) -> Self {
        self.0.roles.push(LiveRole {
            crn: custom(name),
            name: RoleName::new(name),
            display_name: display_name.to_string(),
            description: description.to_string(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
            service: ServiceName::new(service),
            kind: RoleKind::Custom {
                id: RoleId::new(format!("role-{name}")),
            },
        });
        self
    }

    /// A service instance, GUID from its name unless given.
    pub fn instance(self, service: &str, name: &str) -> Self {
        let guid = instance_guid(name);
        self.instance_with(service, name, guid.as_str())
    }

    pub fn instance_with(mut self, service: &str, name: &str, guid: &str) -> Self {
        self.0.instances.push(LiveInstance {
            guid: InstanceGuid::new(guid),
            crn: format!("crn:v1:bluemix:public:{service}:us-east:a/{ACCOUNT}:{guid}::"),
            name: name.to_string(),
            service: ServiceName::new(service),
            resource_group_id: None,
        });
        self
    }

    pub fn resource_group(mut self, name: &str, id: &str) -> Self {
        self.0.resource_groups.push(LiveResourceGroup {
            id: ResourceGroupId::new(id),
            name: name.to_string(),
        });
        self
    }

    fn live_group(&mut self, group: &str) -> Option<&mut LiveGroup> {
        self.0
            .groups
            .iter_mut()
            .find(|g| g.name == GroupName::new(group))
    }

    /// The group's policies as read (none yet): what acquire delivers for a group with
    /// `access`.
    pub fn policies_read(mut self, group: &str) -> Self {
        if let Some(g) = self.live_group(group) {
            g.policies.get_or_insert_with(Vec::new);
        }
        self
    }

    /// A v2 policy of the group on `target` granting `roles`.
    pub fn policy(self, group: &str, id: &str, target: PolicyTarget, roles: &[RoleCrn]) -> Self {
        self.policy_shaped(group, id, PolicyShape::Expressible(target), roles)
    }

    pub fn policy_shaped(
        mut self,
        group: &str,
        id: &str,
        shape: PolicyShape,
        roles: &[RoleCrn],
    ) -> Self {
        let group_id = group_id(group);
        if let Some(g) = self.live_group(group) {
            g.policies.get_or_insert_with(Vec::new).push(LivePolicy {
                id: PolicyId::new(id),
                version: PolicyVersion::V2,
                group: group_id,
                shape,
                roles: roles.to_vec(),
            });
        }
        self
    }

    /// The group's rules as read.
    pub fn live_rules(mut self, group: &str, rules: Vec<LiveRule>) -> Self {
        if let Some(g) = self.live_group(group) {
            g.rules.get_or_insert_with(Vec::new).extend(rules);
        }
        self
    }

    /// The user with this email as a member a dynamic rule added.
    pub fn dynamic_member(mut self, group: &str, email: &str) -> Self {
        if let Some(g) = self.live_group(group) {
            g.members.get_or_insert_with(Vec::new).push(LiveMember {
                iam_id: iam(email),
                kind: MemberKind::User,
                membership: Membership::Dynamic,
            });
        }
        self
    }

    /// The groups (by name, with the builders' ids) the user with this email was read
    /// to be in, as commands read them for the users a plan removes.
    pub fn user_groups(mut self, email: &str, groups: &[&str]) -> Self {
        self.0.user_groups.insert(
            iam(email),
            groups
                .iter()
                .map(|g| GroupRef {
                    id: group_id(g),
                    name: GroupName::new(*g),
                })
                .collect(),
        );
        self
    }
}

pub(crate) fn options() -> Options {
    Options { today: today() }
}

/// Plans, failing the test with the planner's own message when it refuses.
pub(crate) fn plan_of(desired: &Desired, live: &Live) -> Plan {
    match plan(&desired.0, &live.0, &options()) {
        Ok(p) => p,
        Err(e) => panic!("plan failed: {e}"),
    }
}

/// One change per line, as `Change`'s Display writes it: compact expectations.
pub(crate) fn lines(plan: &Plan) -> Vec<String> {
    plan.changes.iter().map(Change::to_string).collect()
}

/// The realistic scenario the snapshots pin: every action kind, warnings, unmanaged
/// members and users.
pub(crate) fn realistic() -> (Desired, Live) {
    let desired = desired()
        .described("quantum-algorithms", "Algorithms research")
        .described("quantum-chemistry", "Chemistry projects")
        .group("quantum-hardware")
        .user(
            "alice@example.com",
            &["quantum-algorithms", "quantum-chemistry"],
        )
        .expiring("bob@example.com", &["quantum-hardware"], day(5))
        .user(
            "carol@example.com",
            &["quantum-algorithms", "quantum-chemistry"],
        )
        .user("dan@example.com", &["quantum-hardware"])
        .user("erin@example.com", &["quantum-algorithms"])
        .user("frank@example.com", &["quantum-hardware"])
        .expiring("grace@example.com", &["quantum-hardware"], day(-1))
        .protect("owner@example.com")
        .remove_unlisted();
    let live = live()
        .user("alice@example.com")
        .user("bob@example.com")
        .user_in("dan@example.com", UserState::ErrorWhileProcessing)
        .user_since("erin@example.com", UserState::Pending, day(-45))
        .user_in("frank@example.com", UserState::Suspended)
        .user("grace@example.com")
        .user("mallory@example.com")
        .user("owner@example.com")
        .described("quantum-algorithms", "Algorithms")
        .group("quantum-hardware")
        .unread_group("billing-admins")
        .member("quantum-algorithms", "alice@example.com")
        .member("quantum-algorithms", "erin@example.com")
        .member("quantum-algorithms", "owner@example.com")
        .member_id("quantum-algorithms", "iam-ServiceId-ci-bot", "service")
        .member("quantum-hardware", "alice@example.com")
        .member("quantum-hardware", "dan@example.com")
        .member("quantum-hardware", "frank@example.com")
        .member("quantum-hardware", "grace@example.com")
        .member("quantum-hardware", "mallory@example.com")
        .member_id("quantum-hardware", "IBMid-ghost", "user")
        .member_id("quantum-hardware", "iam-Profile-lab-runner", "profile")
        // A person runs this plan (a service ID could not invite or remove users), and
        // the users it removes were read: they are in no group the file does not manage.
        .caller("IBMid-admin")
        .user_groups("dan@example.com", &["quantum-hardware"])
        .user_groups("grace@example.com", &["quantum-hardware"])
        .user_groups("mallory@example.com", &["quantum-hardware"]);
    (desired, live)
}

/// IBM's example organization (docs/reconciliation.md, Access policies): projects `ml` and
/// `finance` on Qiskit Runtime instances, a custom role for deleting jobs, ID-provider
/// users joining by rules; planned against an account that has drifted from it in every
/// way the second wave can show: one change of every kind.
pub(crate) fn realistic_access() -> (Desired, Live) {
    let job_actions = [
        "quantum-computing.device.read",
        "quantum-computing.job.cancel",
        "quantum-computing.job.create",
        "quantum-computing.job.delete",
        "quantum-computing.job.read",
    ];
    let desired = desired()
        .role(
            "JobManager",
            QC,
            "Job manager",
            Some("Run, cancel and delete Qiskit Runtime jobs"),
            &job_actions,
        )
        .role(
            "Observer",
            QC,
            "Observer",
            None,
            &["quantum-computing.job.read"],
        )
        .described("ml", "Machine-learning project")
        .access(
            "ml",
            vec![
                entry(
                    Some(QC),
                    Some("QR-ml"),
                    None,
                    &["Viewer", "Reader", "JobManager"],
                ),
                entry(Some(QC), Some("QR-common"), None, &["Reader"]),
                entry(None, None, Some("Default"), &["Viewer"]),
            ],
        )
        .rules(
            "ml",
            vec![rule(
                "ml-project",
                vec![condition("project", RuleOperator::Contains, "ml")],
            )],
        )
        .described("finance", "Finance project")
        .access(
            "finance",
            vec![
                entry(Some(QC), Some("QR-finance"), None, &["Reader", "Observer"]),
                entry(Some(QC), Some("QR-common"), None, &["Reader"]),
            ],
        )
        .rules(
            "finance",
            vec![rule(
                "finance-project",
                vec![condition("project", RuleOperator::Contains, "finance")],
            )],
        )
        .rules(
            "ml-readers",
            vec![rule(
                "ml-readers",
                vec![condition("project", RuleOperator::Contains, "mlReader")],
            )],
        )
        .user("fatima@example.com", &["ml"])
        .user("ravi@example.com", &["finance"])
        .user("amyra@example.com", &["ml", "finance"])
        .user("chen@example.com", &["finance"])
        .remove_unlisted();
    let ml_rule = rule(
        "ML-Project",
        vec![condition("project", RuleOperator::Contains, "ml")],
    );
    let live = live()
        .caller("IBMid-admin")
        .user("admin@example.com")
        .user("fatima@example.com")
        .user("ravi@example.com")
        .user("amyra@example.com")
        .user("eve@example.com")
        .ibm_roles(QC)
        .custom_role(
            "JobManager",
            QC,
            "Job manager",
            "Run, cancel and delete Qiskit Runtime jobs",
            &[
                "quantum-computing.job.read",
                "quantum-computing.job.create",
                "quantum-computing.job.cancel",
                "quantum-computing.device.read",
            ],
        )
        .instance(QC, "QR-ml")
        .instance(QC, "QR-common")
        .instance(QC, "QR-finance")
        .instance(QC, "QR-old")
        .resource_group("Default", "0a1b2c3d4e5f60718293a4b5c6d7e8f9")
        .described("ml", "ML")
        .group("ml-readers")
        .member("ml", "fatima@example.com")
        .member("ml", "ravi@example.com")
        .member("ml", "eve@example.com")
        .member_id("ml", "IBMid-admin", "user")
        .dynamic_member("ml", "amyra@example.com")
        .policy(
            "ml",
            "policy-ml-1",
            target(Some(QC), Some(&instance_guid("QR-ml")), None),
            &[ibm_role("Viewer"), ibm_role("Reader")],
        )
        .policy(
            "ml",
            "policy-ml-2",
            target(Some(QC), Some(&instance_guid("QR-common")), None),
            &[ibm_role("Writer"), ibm_role("Reader")],
        )
        .policy(
            "ml",
            "policy-ml-3",
            target(Some(QC), Some(&instance_guid("QR-old")), None),
            &[ibm_role("Viewer"), custom("JobManager")],
        )
        .policy_shaped(
            "ml",
            "policy-ml-4",
            PolicyShape::Unexpressible("a time-based condition".into()),
            &[ibm_role("Reader")],
        )
        .live_rules(
            "ml",
            vec![
                LiveRule {
                    expiration_hours: 12,
                    ..live_rule("rule-ml-1", &ml_rule)
                },
                live_rule(
                    "rule-ml-2",
                    &rule(
                        "legacy",
                        vec![condition("team", RuleOperator::Equals, "ml")],
                    ),
                ),
            ],
        )
        .live_rules("ml-readers", Vec::new())
        .user_groups("eve@example.com", &["ml", "billing-admins", "lab-viewers"]);
    (desired, live)
}
