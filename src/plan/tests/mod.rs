//! Planner tests: small builders for desired and live state, one test per rule of
//! docs/reconciliation.md, a property test over random pairs, snapshots of the renderings,
//! the refusals of `apply`, and the export decision.

mod export;
mod guard;
mod property;
mod render;
mod rules;

use crate::model::{
    AccessGroupId, AccountId, Date, DesiredGroup, DesiredState, DesiredUser, Email, GroupName,
    GroupRef, IamId, LiveGroup, LiveMember, LiveState, LiveUser, MemberKind, Policy, UnlistedUsers,
    UserState,
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
