//! Resource Controller: the account's service instances, read-only. Names are not unique
//! (IBM allows two instances with one name); the GUID is, and so is the CRN built from it.

use super::{ApiError, Store};
use crate::emulator::state::{DEFAULT_REGION, ResourceInstance, instance_guid_for};

/// What `GET /v2/resource_instances` filters by; `None` matches everything. `states`
/// empty means IBM's default, `active` and `provisioning`.
#[derive(Default)]
pub struct InstanceFilter<'a> {
    pub guid: Option<&'a str>,
    pub name: Option<&'a str>,
    pub resource_group_id: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub resource_plan_id: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub states: Vec<&'a str>,
}

/// Every instance is a `service_instance`: the emulator has no other kind.
pub const INSTANCE_TYPE: &str = "service_instance";

/// The states IBM reports for an instance.
pub const INSTANCE_STATES: [&str; 7] = [
    "active",
    "inactive",
    "failed",
    "pending_reclamation",
    "provisioning",
    "pre_provisioning",
    "removed",
];

impl InstanceFilter<'_> {
    fn matches(&self, i: &ResourceInstance) -> bool {
        let eq = |want: Option<&str>, have: Option<&str>| want.is_none_or(|w| have == Some(w));
        let state = i.state.as_deref().unwrap_or("active");
        let state_ok = if self.states.is_empty() {
            state == "active" || state == "provisioning"
        } else {
            self.states.contains(&state)
        };
        state_ok
            && eq(self.guid, i.guid.as_deref())
            && eq(self.name, Some(&i.name))
            && eq(self.resource_group_id, i.resource_group_id.as_deref())
            && eq(self.resource_id, i.resource_id.as_deref())
            && eq(self.resource_plan_id, i.resource_plan_id.as_deref())
            && eq(self.kind, Some(INSTANCE_TYPE))
    }
}

impl Store {
    /// The instances a listing returns, in the state's order (exact, case-sensitive
    /// name match). A `guid` filter reads the index.
    pub fn list_instances(&self, filter: &InstanceFilter<'_>) -> Vec<&ResourceInstance> {
        if let Some(guid) = filter.guid {
            return self
                .instance_pos
                .get(guid)
                .and_then(|i| self.instances.get(*i))
                .filter(|i| filter.matches(i))
                .into_iter()
                .collect();
        }
        self.instances
            .iter()
            .filter(|i| filter.matches(i))
            .collect()
    }

    /// `GET /v2/resource_instances/{id}` by GUID or by CRN (URL-decoded by then), in any
    /// state.
    pub fn instance(&self, id: &str) -> Result<&ResourceInstance, ApiError> {
        let guid = if id.starts_with("crn:") {
            id.trim_end_matches(':').rsplit(':').next().unwrap_or("")
        } else {
            id
        };
        self.instance_pos
            .get(guid)
            .and_then(|i| self.instances.get(*i))
            .filter(|i| !id.starts_with("crn:") || i.crn(&self.account_id) == id)
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "not_found",
                    format!(
                        "Instance {id} was not found in account {}.",
                        self.account_id
                    ),
                )
            })
    }
}

/// The plan an instance gets when the state names none: for `quantum-computing` the
/// "standard" plan id qiskit-ibm-runtime knows, else one derived from the service.
fn default_plan(service: &str) -> String {
    if service == crate::emulator::catalog::QUANTUM {
        return "5304b575-3cff-4455-90dc-ae4367762093".into();
    }
    crate::emulator::ids::uuid_from(&[b"plan", service.as_bytes()])
}

impl Store {
    /// Loads one instance of the state, filling in what a hand-written one leaves out.
    /// Duplicate GUIDs (which validation rejects) keep the first.
    pub(super) fn load_instance(&mut self, mut i: ResourceInstance, index: usize, now: &str) {
        let guid = i
            .guid
            .get_or_insert_with(|| instance_guid_for(&self.account_id, &i.name, index))
            .clone();
        if self.instance_pos.contains_key(&guid) {
            return;
        }
        i.region_id.get_or_insert_with(|| DEFAULT_REGION.into());
        let group = match i.resource_group_id.as_deref() {
            Some(g) => self.resource_group_ref(g).map(str::to_string),
            None => self.default_resource_group().map(str::to_string),
        };
        i.resource_group_id = group.or(i.resource_group_id.take());
        i.resource_id.get_or_insert_with(|| i.service.clone());
        i.resource_plan_id
            .get_or_insert_with(|| default_plan(&i.service));
        i.state.get_or_insert_with(|| "active".into());
        i.created_at.get_or_insert_with(|| now.to_string());
        let created = i.created_at.clone();
        i.updated_at = i.updated_at.take().or(created);
        self.services.insert(i.service.clone());
        self.instance_pos.insert(guid, self.instances.len());
        self.instances.push(i);
    }
}
