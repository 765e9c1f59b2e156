//! The account as the executor sees it: the reads it checks its work with and the writes
//! it makes, as two small traits that [`Client`] implements.
//!
//! The executor decides how to send a plan (order, batches, re-reads after ambiguous
//! failures); the client decides how to make one call well (tokens, retries, paging).
//! Putting the calls behind traits keeps that line visible and lets the executor's own
//! tests run against an account in memory, with no HTTP.
//!
//! Every method returns a `Send` future: the executor runs its calls on spawned tasks.

use std::future::Future;

use crate::iam::{
    Client, CreatedGroup, CreatedPolicy, CreatedRole, CreatedRule, Deleted, IamError, InvitedUser,
    MemberOutcome, UserRemoval,
};
use crate::model::{
    AccessGroupId, AccountId, DesiredRole, DesiredRule, Email, GroupName, IamId, LiveGroup,
    LiveMember, LivePolicy, LiveRole, LiveRule, LiveUser, MemberKind, PolicyId, PolicyTarget,
    PolicyVersion, RoleCrn, RoleId, RuleId, ServiceName,
};

/// The reads the executor needs: to learn whether a write that must not be repeated
/// landed, and to verify the apply.
pub trait IamRead: Clone + Send + Sync + 'static {
    /// Every user of the account.
    fn list_users(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Vec<LiveUser>, IamError>> + Send;

    /// One user by IAM id; `None` when the account does not have them.
    fn get_user(
        &self,
        account: &AccountId,
        iam_id: &IamId,
    ) -> impl Future<Output = Result<Option<LiveUser>, IamError>> + Send;

    /// The account's access groups, members not read.
    fn list_groups(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Vec<LiveGroup>, IamError>> + Send;

    /// Every member of a group. `bulk`: one of many groups read beside the user listing,
    /// which then keeps a request slot to itself.
    fn list_members(
        &self,
        group: &AccessGroupId,
        bulk: bool,
    ) -> impl Future<Output = Result<Vec<LiveMember>, IamError>> + Send;

    /// The access policies of one group (`Some`), or of every group of the account in one
    /// listing (`None`). `bulk` as for [`IamRead::list_members`].
    fn list_policies(
        &self,
        account: &AccountId,
        group: Option<&AccessGroupId>,
        bulk: bool,
    ) -> impl Future<Output = Result<Vec<LivePolicy>, IamError>> + Send;

    /// The roles of a service, the account's custom roles of it included.
    fn list_roles(
        &self,
        account: &AccountId,
        service: &ServiceName,
    ) -> impl Future<Output = Result<Vec<LiveRole>, IamError>> + Send;

    /// A group's dynamic rules.
    fn list_rules(
        &self,
        group: &AccessGroupId,
    ) -> impl Future<Output = Result<Vec<LiveRule>, IamError>> + Send;

    /// How many users the last complete user listing returned (`None`: never listed).
    fn users_last_listed(&self) -> Option<usize>;

    /// Requests in flight at most.
    fn parallelism(&self) -> usize;
}

/// The writes the executor makes. Each is one call (or, for more than IBM takes at once,
/// one call per batch); only the write methods' own safe retries happen inside.
pub trait IamWrite: IamRead {
    /// Creates a group: one call, never repeated after an ambiguous failure.
    fn create_group(
        &self,
        account: &AccountId,
        name: &GroupName,
        description: &str,
    ) -> impl Future<Output = Result<CreatedGroup, IamError>> + Send;

    /// Sets a group's description; the transaction id, `None` when nothing was sent.
    fn update_group_description(
        &self,
        group: &AccessGroupId,
        description: &str,
    ) -> impl Future<Output = Result<Option<String>, IamError>> + Send;

    /// Invites `emails` into `groups`: one call, never repeated after an ambiguous
    /// failure. One answer per email, in order.
    fn invite_users(
        &self,
        account: &AccountId,
        emails: &[Email],
        groups: &[AccessGroupId],
    ) -> impl Future<Output = Result<Vec<InvitedUser>, IamError>> + Send;

    /// Adds members; one outcome per member, in order.
    fn add_members(
        &self,
        group: &AccessGroupId,
        members: &[(IamId, MemberKind)],
    ) -> impl Future<Output = Result<Vec<MemberOutcome>, IamError>> + Send;

    /// Removes members; one outcome per member, in order.
    fn remove_members(
        &self,
        group: &AccessGroupId,
        members: &[IamId],
    ) -> impl Future<Output = Result<Vec<MemberOutcome>, IamError>> + Send;

    /// Removes a user from the account (cancels a pending invitation too).
    fn remove_user(
        &self,
        account: &AccountId,
        iam_id: &IamId,
    ) -> impl Future<Output = Result<UserRemoval, IamError>> + Send;

    /// Creates an access policy: one call, never repeated after an ambiguous failure.
    fn create_policy(
        &self,
        account: &AccountId,
        group: &AccessGroupId,
        target: &PolicyTarget,
        roles: &[RoleCrn],
    ) -> impl Future<Output = Result<CreatedPolicy, IamError>> + Send;

    /// Replaces a policy's roles through the version that created it (`If-Match`); the
    /// transaction id, `None` when it already granted them.
    fn replace_policy(
        &self,
        account: &AccountId,
        group: &AccessGroupId,
        policy: &PolicyId,
        version: PolicyVersion,
        target: &PolicyTarget,
        roles: &[RoleCrn],
    ) -> impl Future<Output = Result<Option<String>, IamError>> + Send;

    /// Deletes a policy through the version that created it (404: gone already).
    fn delete_policy(
        &self,
        policy: &PolicyId,
        version: PolicyVersion,
    ) -> impl Future<Output = Result<Deleted, IamError>> + Send;

    /// Creates a custom role: one call, never repeated after an ambiguous failure.
    fn create_role(
        &self,
        account: &AccountId,
        role: &DesiredRole,
    ) -> impl Future<Output = Result<CreatedRole, IamError>> + Send;

    /// Replaces a custom role's display name, description and actions (`If-Match`).
    fn update_role(
        &self,
        id: &RoleId,
        role: &DesiredRole,
    ) -> impl Future<Output = Result<Option<String>, IamError>> + Send;

    /// Adds a dynamic rule: one call, never repeated after an ambiguous failure.
    fn create_rule(
        &self,
        group: &AccessGroupId,
        rule: &DesiredRule,
    ) -> impl Future<Output = Result<CreatedRule, IamError>> + Send;

    /// Replaces a rule whole (`If-Match`).
    fn update_rule(
        &self,
        group: &AccessGroupId,
        id: &RuleId,
        rule: &DesiredRule,
    ) -> impl Future<Output = Result<Option<String>, IamError>> + Send;

    /// Removes a rule (404: gone already).
    fn delete_rule(
        &self,
        group: &AccessGroupId,
        id: &RuleId,
    ) -> impl Future<Output = Result<Deleted, IamError>> + Send;

    /// Rounds of a write that must not be repeated, at most: as many as the attempts of a
    /// call that may be.
    fn max_attempts(&self) -> u32;

    /// Waits before the next round after round `round` (1-based) failed: the backoff of
    /// a retried call.
    fn backoff(&self, round: u32) -> impl Future<Output = ()> + Send;
}

// `Client::method(self, ..)` below names the client's own (inherent) methods, which take
// precedence over these trait methods of the same name.

impl IamRead for Client {
    fn list_users(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Vec<LiveUser>, IamError>> + Send {
        Client::list_users(self, account)
    }

    fn get_user(
        &self,
        account: &AccountId,
        iam_id: &IamId,
    ) -> impl Future<Output = Result<Option<LiveUser>, IamError>> + Send {
        Client::get_user(self, account, iam_id)
    }

    fn list_groups(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Vec<LiveGroup>, IamError>> + Send {
        Client::list_groups(self, account)
    }

    async fn list_members(
        &self,
        group: &AccessGroupId,
        bulk: bool,
    ) -> Result<Vec<LiveMember>, IamError> {
        if bulk {
            Client::list_members_in_bulk(self, group).await
        } else {
            Client::list_members(self, group).await
        }
    }

    async fn list_policies(
        &self,
        account: &AccountId,
        group: Option<&AccessGroupId>,
        bulk: bool,
    ) -> Result<Vec<LivePolicy>, IamError> {
        Client::list_policies_with(self, account, group, bulk, &|| {}).await
    }

    fn list_roles(
        &self,
        account: &AccountId,
        service: &ServiceName,
    ) -> impl Future<Output = Result<Vec<LiveRole>, IamError>> + Send {
        Client::list_roles(self, account, service)
    }

    fn list_rules(
        &self,
        group: &AccessGroupId,
    ) -> impl Future<Output = Result<Vec<LiveRule>, IamError>> + Send {
        Client::list_rules(self, group)
    }

    fn users_last_listed(&self) -> Option<usize> {
        Client::users_last_listed(self)
    }

    fn parallelism(&self) -> usize {
        Client::parallelism(self)
    }
}

impl IamWrite for Client {
    fn create_group(
        &self,
        account: &AccountId,
        name: &GroupName,
        description: &str,
    ) -> impl Future<Output = Result<CreatedGroup, IamError>> + Send {
        Client::create_group(self, account, name, description)
    }

    fn update_group_description(
        &self,
        group: &AccessGroupId,
        description: &str,
    ) -> impl Future<Output = Result<Option<String>, IamError>> + Send {
        Client::update_group_description(self, group, description)
    }

    fn invite_users(
        &self,
        account: &AccountId,
        emails: &[Email],
        groups: &[AccessGroupId],
    ) -> impl Future<Output = Result<Vec<InvitedUser>, IamError>> + Send {
        Client::invite_users(self, account, emails, groups)
    }

    fn add_members(
        &self,
        group: &AccessGroupId,
        members: &[(IamId, MemberKind)],
    ) -> impl Future<Output = Result<Vec<MemberOutcome>, IamError>> + Send {
        Client::add_members(self, group, members)
    }

    fn remove_members(
        &self,
        group: &AccessGroupId,
        members: &[IamId],
    ) -> impl Future<Output = Result<Vec<MemberOutcome>, IamError>> + Send {
        Client::remove_members(self, group, members)
    }

    fn remove_user(
        &self,
        account: &AccountId,
        iam_id: &IamId,
    ) -> impl Future<Output = Result<UserRemoval, IamError>> + Send {
        Client::remove_user(self, account, iam_id)
    }

    fn create_policy(
        &self,
        account: &AccountId,
        group: &AccessGroupId,
        target: &PolicyTarget,
        roles: &[RoleCrn],
    ) -> impl Future<Output = Result<CreatedPolicy, IamError>> + Send {
        Client::create_policy(self, account, group, target, roles)
    }

    fn replace_policy(
        &self,
        account: &AccountId,
        group: &AccessGroupId,
        policy: &PolicyId,
        version: PolicyVersion,
        target: &PolicyTarget,
        roles: &[RoleCrn],
    ) -> impl Future<Output = Result<Option<String>, IamError>> + Send {
        Client::replace_policy(self, account, group, policy, version, target, roles)
    }

    fn delete_policy(
        &self,
        policy: &PolicyId,
        version: PolicyVersion,
    ) -> impl Future<Output = Result<Deleted, IamError>> + Send {
        Client::delete_policy(self, policy, version)
    }

    fn create_role(
        &self,
        account: &AccountId,
        role: &DesiredRole,
    ) -> impl Future<Output = Result<CreatedRole, IamError>> + Send {
        Client::create_role(self, account, role)
    }

    fn update_role(
        &self,
        id: &RoleId,
        role: &DesiredRole,
    ) -> impl Future<Output = Result<Option<String>, IamError>> + Send {
        Client::update_role(self, id, role)
    }

    fn create_rule(
        &self,
        group: &AccessGroupId,
        rule: &DesiredRule,
    ) -> impl Future<Output = Result<CreatedRule, IamError>> + Send {
        Client::create_rule(self, group, rule)
    }

    fn update_rule(
        &self,
        group: &AccessGroupId,
        id: &RuleId,
        rule: &DesiredRule,
    ) -> impl Future<Output = Result<Option<String>, IamError>> + Send {
        Client::update_rule(self, group, id, rule)
    }

    fn delete_rule(
        &self,
        group: &AccessGroupId,
        id: &RuleId,
    ) -> impl Future<Output = Result<Deleted, IamError>> + Send {
        Client::delete_rule(self, group, id)
    }

    fn max_attempts(&self) -> u32 {
        Client::max_attempts(self)
    }

    fn backoff(&self, round: u32) -> impl Future<Output = ()> + Send {
        Client::backoff_pause(self, round)
    }
}
