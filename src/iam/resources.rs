//! Resource Controller and Resource Manager: the service instances and resource groups a
//! file names, resolved to the ids policies carry (docs/ibm-api.md, Resource Controller,
//! Resource Manager). Both live on the Resource Controller host; both are read-only here.

use std::collections::HashSet;

use reqwest::{Method, Url};
use serde_json::Value;

use super::error::IamError;
use super::http::{Request, Retry};
use super::users::start_param_named;
use super::wire_access::{Instance, InstanceList, ResourceGroup, ResourceGroupList};
use super::{Client, join};
use crate::model::{
    AccountId, InstanceGuid, InstanceRef, LiveInstance, LiveResourceGroup, ResourceGroupId,
    ServiceName,
};

const INSTANCES_ROUTE: &str = "GET /v2/resource_instances";
const GROUPS_ROUTE: &str = "GET /v2/resource_groups";
/// Pages of one instance query at most (100 rows a page).
const MAX_PAGES: usize = 1_000;
/// IBM caps a page at 100 rows; far more is a misbehaving server.
const MAX_PAGE_ITEMS: usize = 1_000;

impl Client {
    /// Every instance a reference matches: by `name=` (names are not unique, so every
    /// match is kept: ambiguity is the planner's to report) or by `guid=` (a GUID, or the
    /// GUID segment of a CRN), following `next_url`'s `start`, 100 rows a page. `bulk`:
    /// a read of the acquisition, which yields to the user cursor.
    pub(crate) async fn find_instances_with(
        &self,
        reference: &InstanceRef,
        bulk: bool,
    ) -> Result<Vec<LiveInstance>, IamError> {
        let (key, value) = match reference {
            InstanceRef::Name(name) => ("name", name.clone()),
            InstanceRef::Guid(guid) => ("guid", guid.as_str().to_string()),
            InstanceRef::Crn(crn) => match crn_segment(crn, 7) {
                Some(guid) => ("guid", guid.to_string()),
                None => return Ok(Vec::new()),
            },
        };
        let base = join(
            &self.inner.endpoints.resource_controller,
            &["v2", "resource_instances"],
            &[(key, value.as_str()), ("limit", "100")],
        );
        let mut out: Vec<LiveInstance> = Vec::new();
        let mut starts = HashSet::new();
        let mut start: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = base.clone();
            if let Some(s) = &start {
                url.query_pairs_mut().append_pair("start", s);
            }
            let mut req = Request::new(Method::GET, INSTANCES_ROUTE, url, Retry::Idempotent);
            req.bulk = bulk;
            let reply = self.send(&req).await?;
            let page: InstanceList = reply.json(INSTANCES_ROUTE)?;
            let malformed = |detail: String| IamError::Malformed {
                call: INSTANCES_ROUTE.into(),
                detail,
                transaction_id: reply.transaction_id.clone(),
            };
            let Some(Value::Array(items)) = page.resources else {
                return Err(malformed("the page has no `resources` list".into()));
            };
            if items.len() > MAX_PAGE_ITEMS {
                return Err(malformed(format!(
                    "a page of {} instances where at most 100 were asked for",
                    items.len()
                )));
            }
            for item in items {
                if let Ok(instance) = serde_json::from_value::<Instance>(item)
                    && let Some(live) = live_instance(instance)
                    && !out.iter().any(|i| i.crn == live.crn)
                {
                    out.push(live);
                }
            }
            let next = page
                .next_url
                .as_deref()
                .and_then(|n| start_param_named(&base, n, "start"));
            match next {
                None => return Ok(out),
                Some(next) if !starts.insert(next.clone()) => {
                    return Err(malformed(
                        "next_url repeats a page already read (the listing loops)".into(),
                    ));
                }
                Some(next) => start = Some(next),
            }
        }
        Err(IamError::Malformed {
            call: INSTANCES_ROUTE.into(),
            detail: format!("the instance listing did not end after {MAX_PAGES} pages"),
            transaction_id: None,
        })
    }

    /// The account's resource groups (Resource Manager, one unpaged call).
    pub(crate) async fn list_resource_groups_with(
        &self,
        account: &AccountId,
        bulk: bool,
    ) -> Result<Vec<LiveResourceGroup>, IamError> {
        let url: Url = join(
            &self.inner.endpoints.resource_controller,
            &["v2", "resource_groups"],
            &[("account_id", account.as_str())],
        );
        let mut req = Request::new(Method::GET, GROUPS_ROUTE, url, Retry::Idempotent);
        req.bulk = bulk;
        let reply = self.send(&req).await?;
        let list: ResourceGroupList = reply.json(GROUPS_ROUTE)?;
        let Some(Value::Array(items)) = list.resources else {
            return Err(IamError::Malformed {
                call: GROUPS_ROUTE.into(),
                detail: "the answer has no `resources` list".into(),
                transaction_id: reply.transaction_id,
            });
        };
        let mut out: Vec<LiveResourceGroup> = Vec::new();
        for item in items {
            let Ok(group) = serde_json::from_value::<ResourceGroup>(item) else {
                continue;
            };
            let (Some(id), Some(name)) = (group.id, group.name) else {
                continue;
            };
            if !id.trim().is_empty() && !out.iter().any(|g| g.id.as_str() == id) {
                out.push(LiveResourceGroup {
                    id: ResourceGroupId::new(id.trim()),
                    name,
                });
            }
        }
        Ok(out)
    }
}

/// Segment `n` (0-based) of a CRN `crn:v1:bluemix:public:<service>:<region>:a/<account>:
/// <guid>::`: 4 is the service, 7 the instance's GUID. `None` when empty or missing.
fn crn_segment(crn: &str, n: usize) -> Option<&str> {
    let mut parts = crn.trim().split(':');
    (parts.next() == Some("crn")).then_some(())?;
    parts.nth(n - 1).filter(|s| !s.is_empty())
}

/// A listed instance: its CRN (or `id`, which IBM makes equal to it), the GUID and the
/// service from the CRN (the `guid` field when the CRN lacks one).
fn live_instance(instance: Instance) -> Option<LiveInstance> {
    let crn = instance
        .crn
        .or(instance.id)
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())?;
    let guid = crn_segment(&crn, 7)
        .map(str::to_string)
        .or(instance.guid)
        .filter(|g| !g.trim().is_empty())?;
    let service = crn_segment(&crn, 4).unwrap_or_default().to_string();
    Some(LiveInstance {
        guid: InstanceGuid::new(guid),
        name: instance.name.unwrap_or_default(),
        service: ServiceName::new(service),
        resource_group_id: instance
            .resource_group_id
            .filter(|r| !r.trim().is_empty())
            .map(ResourceGroupId::new),
        crn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crn_segments_name_the_service_and_the_guid() {
        let crn = "crn:v1:bluemix:public:quantum-computing:us-east:a/0123:6f3c-guid::";
        assert_eq!(crn_segment(crn, 4), Some("quantum-computing"));
        assert_eq!(crn_segment(crn, 7), Some("6f3c-guid"));
        assert_eq!(crn_segment(crn, 8), None);
        assert_eq!(crn_segment("not a crn", 4), None);
    }

    #[test]
    fn sdk_instance_list_mock_parses_and_takes_guid_and_service_from_the_crn() {
        let body = r#"{"rows_count": 10, "next_url": "next_url", "resources": [{"id": "crn:v1:bluemix:public:quantum-computing:us-east:a/acc:g-1::", "guid": "guid", "url": "url", "name": "QR-ml", "region_id": "region_id", "account_id": "account_id", "resource_group_id": "rg", "crn": "crn:v1:bluemix:public:quantum-computing:us-east:a/acc:g-1::", "state": "active", "type": "type", "locked": true, "parameters": {"anyKey": "anyValue"}, "last_operation": {"async": true}}]}"#;
        let page: InstanceList = serde_json::from_str(body).unwrap();
        let Some(Value::Array(items)) = page.resources else {
            panic!("resources")
        };
        let live = live_instance(serde_json::from_value(items[0].clone()).unwrap()).unwrap();
        assert_eq!(live.guid.as_str(), "g-1");
        assert_eq!(live.service.as_str(), "quantum-computing");
        assert_eq!(live.name, "QR-ml");
        assert_eq!(
            live.resource_group_id.as_ref().map(ResourceGroupId::as_str),
            Some("rg")
        );
        // The mock's own placeholder CRN has no GUID segment: its `guid` is used.
        let placeholder: Instance =
            serde_json::from_value(serde_json::json!({"crn": "crn", "guid": "g"})).unwrap();
        assert_eq!(
            live_instance(placeholder).map(|i| i.guid),
            Some(InstanceGuid::new("g"))
        );
    }
}
