//! Resource Manager: the account's resource groups, read-only. Every account has a
//! default group; one whose state lists none has a single group `Default`.

use super::{ApiError, Store};
use crate::emulator::ids;
use crate::emulator::state::{DEFAULT_GROUP_NAME, ResourceGroup, group_id_for};

impl Store {
    /// `GET /v2/resource_groups`: exact name match (groups names are unique), `default`
    /// as IBM's filter; in the state's order.
    pub fn list_resource_groups(
        &self,
        name: Option<&str>,
        default: Option<bool>,
    ) -> Vec<&ResourceGroup> {
        self.resource_groups
            .iter()
            .filter(|g| name.is_none_or(|n| g.name == n))
            .filter(|g| default.is_none_or(|d| g.default == d))
            .collect()
    }

    pub fn resource_group(&self, id: &str) -> Result<&ResourceGroup, ApiError> {
        self.resource_groups
            .iter()
            .find(|g| g.id.as_deref() == Some(id))
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "not_found",
                    format!(
                        "Resource group {id} was not found in account {}.",
                        self.account_id
                    ),
                )
            })
    }

    /// The id of the account's default resource group.
    pub(super) fn default_resource_group(&self) -> Option<&str> {
        self.resource_groups
            .iter()
            .find(|g| g.default)
            .and_then(|g| g.id.as_deref())
    }
}

impl Store {
    /// Loads the state's resource groups, filling in what a hand-written one leaves out;
    /// an empty list becomes the implicit `Default` group (not written back).
    pub(super) fn load_resource_groups(&mut self, groups: Vec<ResourceGroup>, now: &str) {
        self.implicit_resource_group = groups.is_empty();
        let groups = if groups.is_empty() {
            vec![ResourceGroup {
                name: DEFAULT_GROUP_NAME.into(),
                default: true,
                ..ResourceGroup::default()
            }]
        } else {
            groups
        };
        let marked = groups.iter().any(|g| g.default);
        for (i, mut g) in groups.into_iter().enumerate() {
            if self
                .resource_groups
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&g.name))
            {
                continue;
            }
            g.default = g.default || (!marked && i == 0);
            let id =
                g.id.get_or_insert_with(|| group_id_for(&self.account_id, &g.name))
                    .clone();
            g.state.get_or_insert_with(|| "ACTIVE".into());
            g.quota_id
                .get_or_insert_with(|| ids::hex(&ids::digest(&[b"quota", id.as_bytes()])[..16]));
            g.created_at.get_or_insert_with(|| now.to_string());
            let created = g.created_at.clone();
            g.updated_at = g.updated_at.take().or(created);
            self.resource_groups.push(g);
        }
    }

    /// The id of a resource group named by id or by name.
    pub(super) fn resource_group_ref(&self, id_or_name: &str) -> Option<&str> {
        self.resource_groups
            .iter()
            .find(|g| g.id.as_deref() == Some(id_or_name) || g.name == id_or_name)
            .and_then(|g| g.id.as_deref())
    }
}
