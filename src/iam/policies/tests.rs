//! Decoding policies as IBM sends them, and the bodies orgsync sends.

use serde_json::json;

use super::*;

const ACCOUNT: &str = "0bae863b1df44b9e99f58734da909ab9";

fn account() -> AccountId {
    AccountId::new(ACCOUNT)
}

fn decode(v: Value) -> Option<LivePolicy> {
    live_policy(serde_json::from_value(v).unwrap(), &account())
}

fn v2(resource: Value) -> Value {
    json!({
        "id": "p-1", "type": "access",
        "href": "https://iam.cloud.ibm.com/v2/policies/p-1",
        "subject": {"attributes": [{"key": "access_group_id", "operator": "stringEquals", "value": "AccessGroupId-ml"}]},
        "resource": {"attributes": resource},
        "control": {"grant": {"roles": [{"role_id": "crn:v1:bluemix:public:iam::::role:Viewer"}]}},
        "state": "active"
    })
}

fn attr(key: &str, value: &str) -> Value {
    json!({"key": key, "operator": "stringEquals", "value": value})
}

fn unexpressible(p: &LivePolicy) -> &str {
    match &p.shape {
        PolicyShape::Unexpressible(why) => why,
        PolicyShape::Expressible(t) => panic!("expressible: {t:?}"),
    }
}

#[test]
fn a_v2_grant_on_one_instance_is_expressible_with_its_roles() {
    let p = decode(v2(json!([
        attr("accountId", ACCOUNT),
        attr("serviceName", "quantum-computing"),
        attr("serviceInstance", "g-1")
    ])))
    .unwrap();
    assert_eq!(p.group.as_str(), "AccessGroupId-ml");
    assert_eq!(p.version, PolicyVersion::V2);
    assert_eq!(
        p.shape,
        PolicyShape::Expressible(PolicyTarget {
            service: Some(ServiceName::new("quantum-computing")),
            instance_id: Some(InstanceGuid::new("g-1")),
            resource_group_id: None,
        })
    );
    assert_eq!(
        p.roles,
        [RoleCrn::new("crn:v1:bluemix:public:iam::::role:Viewer")]
    );
}

#[test]
fn a_deleted_policy_is_not_live_and_no_state_is_taken_for_active() {
    let resource = json!([attr("accountId", ACCOUNT), attr("serviceName", "billing")]);
    let mut deleted = v2(resource.clone());
    deleted["state"] = json!("Deleted");
    assert_eq!(decode(deleted), None);
    let mut unsaid = v2(resource);
    unsaid.as_object_mut().map(|o| o.remove("state"));
    assert!(decode(unsaid).is_some());
}

#[test]
fn a_v1_policy_seen_through_v2_keeps_its_v1_version() {
    let mut v = v2(json!([
        attr("accountId", ACCOUNT),
        attr("serviceName", "billing")
    ]));
    v["href"] = json!("https://iam.cloud.ibm.com/v1/policies/p-1");
    assert_eq!(decode(v).unwrap().version, PolicyVersion::V1);
}

#[test]
fn a_v1_shaped_body_decodes_too() {
    // IBM's "Administrators" example (docs, v1 syntax) with a group subject.
    let v = json!({
        "id": "p-2", "type": "access",
        "subjects": [{"attributes": [{"name": "access_group_id", "value": "AccessGroupId-a"}]}],
        "roles": [{"role_id": "crn:v1:bluemix:public:iam::::serviceRole:Manager"}, {"role_id": "crn:v1:bluemix:public:iam::::role:Administrator"}],
        "resources": [{"attributes": [{"name": "accountId", "value": ACCOUNT}, {"name": "serviceName", "value": "quantum-computing"}]}],
        "href": "https://iam.cloud.ibm.com/v1/policies/p-2"
    });
    let p = decode(v).unwrap();
    assert_eq!(p.version, PolicyVersion::V1);
    assert!(matches!(p.shape, PolicyShape::Expressible(_)));
    assert_eq!(p.roles.len(), 2);
}

#[test]
fn a_grant_on_a_resource_group_itself_and_a_service_in_one_are_expressible() {
    let p = decode(v2(json!([
        attr("accountId", ACCOUNT),
        attr("resourceType", "resource-group"),
        attr("resource", "rg-1")
    ])))
    .unwrap();
    assert_eq!(
        p.shape,
        PolicyShape::Expressible(PolicyTarget {
            resource_group_id: Some(ResourceGroupId::new("rg-1")),
            ..PolicyTarget::default()
        })
    );
    let p = decode(v2(json!([
        attr("accountId", ACCOUNT),
        attr("serviceName", "quantum-computing"),
        attr("resourceGroupId", "rg-1")
    ])))
    .unwrap();
    assert!(matches!(
        p.shape,
        PolicyShape::Expressible(PolicyTarget {
            service: Some(_),
            resource_group_id: Some(_),
            ..
        })
    ));
}

#[test]
fn what_the_file_cannot_say_is_unexpressible_with_the_reason() {
    let base = || {
        json!([
            attr("accountId", ACCOUNT),
            attr("serviceName", "quantum-computing")
        ])
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut v = v2(base());
                v["rule"] = json!({"key": "{{environment.attributes.day_of_week}}", "operator": "dayOfWeekAnyOf", "value": ["1+00:00"]});
                v
            },
            "a condition (`rule`)",
        ),
        (
            {
                let mut v = v2(base());
                v["pattern"] = json!("time-based-conditions:weekly:all-day");
                v
            },
            "a time-based condition (`time-based-conditions:weekly:all-day`)",
        ),
        (
            {
                let mut v = v2(base());
                v["resource"]["tags"] =
                    json!([{"key": "project", "value": "ml", "operator": "stringEquals"}]);
                v
            },
            "access-management tags",
        ),
        (
            v2(json!([
                attr("accountId", ACCOUNT),
                attr("serviceName", "cos"),
                attr("region", "us-south")
            ])),
            "the attribute `region`",
        ),
        (
            v2(
                json!([attr("accountId", ACCOUNT), {"key": "serviceName", "operator": "stringMatch", "value": "quantum-*"}]),
            ),
            "the operator `stringMatch` on `serviceName`",
        ),
        (
            v2(
                json!([attr("accountId", ACCOUNT), {"key": "serviceName", "operator": "stringExists", "value": true}]),
            ),
            "the operator `stringExists` on `serviceName`",
        ),
        (
            v2(json!([
                attr("accountId", "another"),
                attr("serviceName", "x")
            ])),
            "resources of another account",
        ),
        (v2(json!([attr("serviceName", "x")])), "no `accountId`"),
        (
            v2(json!([attr("accountId", ACCOUNT)])),
            "every resource of the account",
        ),
        (
            v2(json!([
                attr("accountId", ACCOUNT),
                attr("serviceType", "service")
            ])),
            "the attribute `serviceType`",
        ),
        (
            v2(json!([
                attr("accountId", ACCOUNT),
                attr("serviceInstance", "g")
            ])),
            "an instance without its service",
        ),
        (
            v2(json!([
                attr("accountId", ACCOUNT),
                attr("serviceName", "a"),
                attr("serviceName", "b")
            ])),
            "the attribute `serviceName` twice",
        ),
        (
            v2(json!([
                attr("accountId", ACCOUNT),
                attr("resourceType", "bucket"),
                attr("resource", "b")
            ])),
            "the resource type `bucket`",
        ),
        (
            v2(json!([
                attr("accountId", ACCOUNT),
                attr("serviceName", "s"),
                attr("resourceType", "resource-group"),
                attr("resource", "rg")
            ])),
            "a grant on a resource group combined with other attributes",
        ),
        (
            {
                let mut v = v2(base());
                v["subject"]["attributes"]
                    .as_array_mut()
                    .unwrap()
                    .push(attr("iam_id", "IBMid-1"));
                v
            },
            "a subject with more than the access group",
        ),
        (
            {
                let mut v = v2(base());
                v["type"] = json!("authorization");
                v
            },
            "a policy of type `authorization`",
        ),
    ];
    for (v, reason) in cases {
        let p = decode(v).unwrap();
        assert_eq!(unexpressible(&p), reason);
    }
}

#[test]
fn policies_of_users_and_service_ids_are_not_group_policies() {
    // IBM's verbatim 409 body names a service ID's policy (its `conflicts_with.policy`).
    let v = json!({"created_at": "2024-10-17T16:36:56.501Z", "href": "https://iam.cloud.ibm.com/v1/policies/07e58eb6-4c28-42aa-a1bc-22be0779dfd9", "id": "07e58eb6-4c28-42aa-a1bc-22be0779dfd9", "resources": [{"attributes": [{"name": "serviceName", "operator": "stringEquals", "value": "billing"}, {"name": "accountId", "operator": "stringEquals", "value": "0bae863b1df44b9e99f58734da909ab9"}]}], "roles": [{"description": "As a viewer, you can view service instances, but you can't modify them.", "display_name": "Viewer", "role_id": "crn:v1:bluemix:public:iam::::role:Viewer"}], "state": "active", "subjects": [{"attributes": [{"name": "iam_id", "value": "iam-ServiceId-6bf7af4e-6f07-4894-ab72-ff539dfb951a"}]}], "type": "access"});
    assert!(decode(v.clone()).is_none());
    let mut group = v;
    group["subjects"][0]["attributes"][0] =
        json!({"name": "access_group_id", "value": "AccessGroupId-x"});
    let p = decode(group).unwrap();
    assert_eq!(p.version, PolicyVersion::V1);
    assert_eq!(
        p.shape,
        PolicyShape::Expressible(PolicyTarget {
            service: Some(ServiceName::new("billing")),
            ..PolicyTarget::default()
        })
    );
}

#[test]
fn the_sdk_v2_mock_parses_and_numbers_and_odd_shapes_are_tolerated() {
    let mock = json!({"type": "access", "description": "description", "subject": {"attributes": [{"key": "key", "operator": "stringEquals", "value": "anyValue"}]}, "resource": {"attributes": [{"key": "key", "operator": "stringEquals", "value": "anyValue"}], "tags": [{"key": "key", "value": "value", "operator": "stringEquals"}]}, "pattern": "pattern", "rule": {"key": "key", "operator": "stringEquals", "value": "anyValue"}, "id": "id", "href": "href", "control": {"grant": {"roles": [{"role_id": "role_id"}]}}, "created_at": "2019-01-01T12:00:00.000Z", "state": "active", "last_permit_at": "last_permit_at", "last_permit_frequency": 21});
    // Its subject is no access group: not a group's policy.
    assert!(decode(mock).is_none());
    let mut odd = v2(json!([attr("accountId", ACCOUNT), {"key": "serviceName", "value": 7}]));
    odd["control"]["grant"]["roles"] = json!([{"role_id": "r"}, "junk", {"role_id": "r"}, {}]);
    odd["extra"] = json!({"ignored": true});
    let p = decode(odd).unwrap();
    assert_eq!(p.roles, [RoleCrn::new("r")]);
    assert!(
        matches!(&p.shape, PolicyShape::Expressible(t) if t.service.as_ref().map(ServiceName::as_str) == Some("7"))
    );
    let page: PolicyCollection =
        serde_json::from_value(json!({"policies": null, "next": "x"})).unwrap();
    assert!(page.policies.is_none() || page.policies == Some(Value::Null));
}

#[test]
fn next_links_give_their_start_directly_or_in_their_href() {
    let base = Url::parse("https://iam.cloud.ibm.com/v2/policies?account_id=a").unwrap();
    assert_eq!(
        next_start(&base, Some("s1".into()), None).as_deref(),
        Some("s1")
    );
    assert_eq!(
        next_start(
            &base,
            None,
            Some("/v2/policies?account_id=a&start=s2".into())
        )
        .as_deref(),
        Some("s2")
    );
    assert_eq!(
        next_start(
            &base,
            Some(" ".into()),
            Some("https://x/v2/policies".into())
        ),
        None
    );
}

#[test]
fn bodies_follow_ibms_shapes_for_each_version() {
    let group = AccessGroupId::new("AccessGroupId-ml");
    let target = PolicyTarget {
        service: Some(ServiceName::new("quantum-computing")),
        instance_id: Some(InstanceGuid::new("g-1")),
        resource_group_id: None,
    };
    let roles = [RoleCrn::new(
        "crn:v1:bluemix:public:iam::::serviceRole:Reader",
    )];
    // The exact v2 body IBM's Python SDK sends for this grant (docs/ibm-api.md).
    assert_eq!(
        v2_body(&account(), &group, &target, &roles, None),
        json!({"control": {"grant": {"roles": [{"role_id": "crn:v1:bluemix:public:iam::::serviceRole:Reader"}]}}, "type": "access", "subject": {"attributes": [{"key": "access_group_id", "operator": "stringEquals", "value": "AccessGroupId-ml"}]}, "resource": {"attributes": [{"key": "accountId", "operator": "stringEquals", "value": ACCOUNT}, {"key": "serviceName", "operator": "stringEquals", "value": "quantum-computing"}, {"key": "serviceInstance", "operator": "stringEquals", "value": "g-1"}]}})
    );
    let v1 = v1_body(&account(), &group, &target, &roles, Some("kept"));
    assert_eq!(
        v1["subjects"][0]["attributes"][0],
        json!({"name": "access_group_id", "value": "AccessGroupId-ml"})
    );
    assert_eq!(
        v1["resources"][0]["attributes"][2]["name"],
        "serviceInstance"
    );
    assert_eq!(v1["roles"][0]["role_id"], roles[0].as_str());
    assert_eq!(v1["description"], "kept");
    // A grant on a resource group itself.
    let rg = PolicyTarget {
        resource_group_id: Some(ResourceGroupId::new("rg-1")),
        ..PolicyTarget::default()
    };
    let body = v2_body(&account(), &group, &rg, &roles, None);
    let keys: Vec<&str> = body["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["accountId", "resourceType", "resource"]);
    // What orgsync writes, it reads back as the same target.
    let p = decode(json!({"id": "x", "href": "/v2/policies/x", "subject": body["subject"], "resource": body["resource"], "control": body["control"]})).unwrap();
    assert_eq!(p.shape, PolicyShape::Expressible(rg));
}
