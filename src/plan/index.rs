//! How the planner reads the live account, in one place: users deduplicated and sorted,
//! the standing entry per email, the live group a name means, members resolved to users.
//!
//! Live data arrives in whatever order IBM's pages came back, possibly with duplicates, so
//! everything is indexed first: users sorted and deduplicated by iam_id, groups in name
//! order, members sorted and resolved to their users once. Later steps walk those sorted
//! lists (hash maps serve lookups only, never iteration), which is what makes a plan
//! identical across runs and input orders, and fast on large accounts.
//!
//! The export decision ([`super::export`]) reads the account through this same index, so a
//! file written from an account says exactly what the planner will find there.
//!
//! Positions in these lists are typed ([`UserIx`], [`GroupIx`]): a user's position cannot
//! be used to look up a group, and [`IxVec`] is indexed by one kind only.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

use crate::model::{
    AccessGroupId, DesiredAccess, DesiredRule, Email, GroupName, IamId, LiveGroup, LiveMember,
    LiveRule, LiveUser, RuleCondition, RuleId,
};

/// A typed position in one of the index's sorted lists.
pub(super) trait Ix: Copy {
    fn from_usize(i: usize) -> Self;
    fn usize(self) -> usize;
}

macro_rules! ix {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(super) struct $name(usize);

        impl Ix for $name {
            fn from_usize(i: usize) -> Self {
                $name(i)
            }
            fn usize(self) -> usize {
                self.0
            }
        }
    };
}

ix!(
    /// An account user's position in [`UserIndex`] (ascending iam_id).
    UserIx
);
ix!(
    /// A managed group's position in [`ManagedGroups`] (ascending name key).
    GroupIx
);

/// A vector indexed by one kind of position only.
pub(super) struct IxVec<I, T> {
    items: Vec<T>,
    ix: PhantomData<fn(I)>,
}

impl<I: Ix, T> IxVec<I, T> {
    pub(super) fn from_vec(items: Vec<T>) -> Self {
        IxVec {
            items,
            ix: PhantomData,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Every position, without borrowing the vector (so a loop may change it).
    pub(super) fn ixs(&self) -> impl Iterator<Item = I> + use<I, T> {
        (0..self.items.len()).map(I::from_usize)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (I, &T)> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, t)| (I::from_usize(i), t))
    }
}

impl<I: Ix, T: Clone> IxVec<I, T> {
    pub(super) fn filled(value: T, len: usize) -> Self {
        IxVec::from_vec(vec![value; len])
    }
}

impl<I: Ix, T> Index<I> for IxVec<I, T> {
    type Output = T;
    fn index(&self, i: I) -> &T {
        &self.items[i.usize()]
    }
}

impl<I: Ix, T> IndexMut<I> for IxVec<I, T> {
    fn index_mut(&mut self, i: I) -> &mut T {
        &mut self.items[i.usize()]
    }
}

/// Live users, deduplicated by iam_id and sorted by it.
pub(super) struct UserIndex<'a> {
    users: IxVec<UserIx, &'a LiveUser>,
    by_iam: HashMap<&'a IamId, UserIx>,
    /// Per email, the entry that stands for the person: see [`LiveUser::standing_key`].
    by_email: HashMap<&'a Email, UserIx>,
}

impl<'a> UserIndex<'a> {
    pub(super) fn new(live: &'a [LiveUser]) -> Self {
        let mut users: Vec<&LiveUser> = live.iter().collect();
        // Conflicting duplicates of one iam_id: the smallest wins, whatever the input order.
        users.sort_by(|a, b| a.dedup_key().cmp(&b.dedup_key()));
        users.dedup_by(|later, first| later.iam_id == first.iam_id);
        let users = IxVec::from_vec(users);
        let by_iam = users.iter().map(|(u, user)| (&user.iam_id, u)).collect();
        let mut by_email: HashMap<&Email, UserIx> = HashMap::with_capacity(users.len());
        for (u, &user) in users.iter() {
            let Some(email) = user_email(user) else {
                continue;
            };
            by_email
                .entry(email)
                .and_modify(|kept| {
                    if user.standing_key() < users[*kept].standing_key() {
                        *kept = u;
                    }
                })
                .or_insert(u);
        }
        UserIndex {
            users,
            by_iam,
            by_email,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.users.len()
    }

    pub(super) fn get(&self, u: UserIx) -> &'a LiveUser {
        self.users[u]
    }

    /// Every user's position, in iam_id order, without borrowing the index.
    pub(super) fn ixs(&self) -> impl Iterator<Item = UserIx> + use<'a> {
        self.users.ixs()
    }

    /// The account user with this iam_id.
    pub(super) fn find(&self, iam_id: &IamId) -> Option<UserIx> {
        self.by_iam.get(iam_id).copied()
    }

    /// The account entry that stands for the person with this email.
    pub(super) fn standing(&self, email: &Email) -> Option<UserIx> {
        self.by_email.get(email).copied()
    }
}

/// The user's email, unless IBM gave none.
pub(super) fn user_email(user: &LiveUser) -> Option<&Email> {
    (!user.email.as_str().is_empty()).then_some(&user.email)
}

/// The live groups by name, compared ignoring case, Public Access left out.
pub(super) struct LiveGroups<'a> {
    by_key: BTreeMap<String, BTreeMap<&'a AccessGroupId, &'a LiveGroup>>,
}

impl<'a> LiveGroups<'a> {
    pub(super) fn new(groups: &'a [LiveGroup]) -> Self {
        let mut by_key: BTreeMap<String, BTreeMap<&AccessGroupId, &LiveGroup>> = BTreeMap::new();
        for group in groups
            .iter()
            .filter(|g| !crate::model::is_public_access(g.id.as_str(), g.name.as_str()))
        {
            by_key
                .entry(group.name.key())
                .or_default()
                .entry(&group.id)
                .and_modify(|kept| {
                    if group_key(group) < group_key(kept) {
                        *kept = group;
                    }
                })
                .or_insert(group);
        }
        LiveGroups { by_key }
    }

    /// The live groups named `key` (a [`GroupName::key`]), by id. When there are several,
    /// orgsync manages the first: see [`LiveGroups::standing`].
    pub(super) fn named(&self, key: &str) -> Option<&BTreeMap<&'a AccessGroupId, &'a LiveGroup>> {
        self.by_key.get(key)
    }

    /// The live group a name means: of several with that name, the smallest id.
    pub(super) fn standing(&self, key: &str) -> Option<&'a LiveGroup> {
        self.named(key)
            .and_then(|groups| groups.values().next().copied())
    }
}

/// Orders conflicting listings of one group id (nothing may depend on input order).
type GroupKey<'a> = (&'a str, &'a str, Vec<&'a LiveMember>, bool);

fn group_key(group: &LiveGroup) -> GroupKey<'_> {
    let mut members: Vec<&LiveMember> = group.members.iter().flatten().collect();
    members.sort();
    (
        group.name.as_str(),
        group.description.as_str(),
        members,
        group.members.is_none(),
    )
}

/// A member of a managed group, with its account user when there is one.
#[derive(Clone, Copy)]
pub(super) struct Member<'a> {
    pub(super) member: &'a LiveMember,
    pub(super) user: Option<UserIx>,
}

/// A group's members sorted and deduplicated, each resolved to its account user; `None`
/// when the members were not read.
pub(super) fn resolve_members<'a>(
    group: &'a LiveGroup,
    users: &UserIndex<'a>,
) -> Option<Vec<Member<'a>>> {
    let mut members: Vec<&LiveMember> = group.members.as_ref()?.iter().collect();
    members.sort_unstable();
    members.dedup();
    Some(
        members
            .into_iter()
            .map(|member| Member {
                member,
                user: users.find(&member.iam_id),
            })
            .collect(),
    )
}

/// A group orgsync manages, with its live counterpart if the account has one.
pub(super) struct ManagedGroup<'a> {
    /// As the file (or, for an export, the account) spells it.
    pub(super) name: GroupName,
    /// `name.key()`, computed once.
    pub(super) key: String,
    pub(super) description: Option<String>,
    /// The file's `access` and `rules` (`None`: not governed; always `None` for an export).
    pub(super) access: Option<&'a [DesiredAccess]>,
    pub(super) rules: Option<&'a [DesiredRule]>,
    pub(super) live: Option<&'a LiveGroup>,
    /// Sorted and deduplicated; empty for a group to be created.
    pub(super) members: Vec<Member<'a>>,
}

/// The managed groups in name order, and per account user the ones they are in.
pub(super) struct ManagedGroups<'a> {
    groups: IxVec<GroupIx, ManagedGroup<'a>>,
    by_key: HashMap<String, GroupIx>,
    /// Per account user, the managed groups (ascending) they are a member of: one pass
    /// over the members, so later questions need not search every group.
    of_user: IxVec<UserIx, Vec<GroupIx>>,
}

impl<'a> ManagedGroups<'a> {
    pub(super) fn new(mut groups: Vec<ManagedGroup<'a>>, users: &UserIndex<'a>) -> Self {
        // Sorted by key, so that group positions ascend in name order and the per-user
        // lists below can be searched.
        groups.sort_by(|a, b| a.key.cmp(&b.key));
        let groups = IxVec::from_vec(groups);
        let by_key = groups
            .iter()
            .map(|(g, group)| (group.key.clone(), g))
            .collect();
        let mut of_user: IxVec<UserIx, Vec<GroupIx>> = IxVec::filled(Vec::new(), users.len());
        for (g, group) in groups.iter() {
            for member in &group.members {
                if let Some(u) = member.user
                    && of_user[u].last() != Some(&g)
                {
                    of_user[u].push(g);
                }
            }
        }
        ManagedGroups {
            groups,
            by_key,
            of_user,
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (GroupIx, &ManagedGroup<'a>)> {
        self.groups.iter()
    }

    /// The managed group of this name (compared ignoring case).
    pub(super) fn find(&self, name: &GroupName) -> Option<GroupIx> {
        self.by_key.get(name.key().as_str()).copied()
    }

    /// The managed groups (ascending) the user is a member of.
    pub(super) fn of_user(&self, u: UserIx) -> &[GroupIx] {
        &self.of_user[u]
    }

    pub(super) fn contains(&self, u: UserIx, g: GroupIx) -> bool {
        self.of_user[u].binary_search(&g).is_ok()
    }

    pub(super) fn names(&self, groups: &[GroupIx]) -> Vec<GroupName> {
        groups.iter().map(|&g| self[g].name.clone()).collect()
    }
}

impl<'a> Index<GroupIx> for ManagedGroups<'a> {
    type Output = ManagedGroup<'a>;
    fn index(&self, g: GroupIx) -> &ManagedGroup<'a> {
        &self.groups[g]
    }
}

/// A group's live rules, one per id (the smallest listing of it), by id; `None` when
/// they were not read.
pub(super) fn live_rules(group: &LiveGroup) -> Option<Vec<&LiveRule>> {
    let mut by_id: BTreeMap<&RuleId, &LiveRule> = BTreeMap::new();
    for rule in group.rules.as_ref()? {
        by_id
            .entry(&rule.id)
            .and_modify(|kept| {
                if rule_key(rule) < rule_key(kept) {
                    *kept = rule;
                }
            })
            .or_insert(rule);
    }
    Some(by_id.into_values().collect())
}

type RuleKey<'r> = (&'r str, &'r str, u32, &'r [RuleCondition]);

fn rule_key(rule: &LiveRule) -> RuleKey<'_> {
    (
        rule.name.as_str(),
        rule.realm.as_str(),
        rule.expiration_hours,
        &rule.conditions,
    )
}
