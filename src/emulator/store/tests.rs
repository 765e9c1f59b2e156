//! The store's rules for what an account grants, without HTTP: policies in both
//! versions, custom roles, dynamic rules and members, instances.

use super::*;
use crate::emulator::state::{
    ApiVersion, AttrValue, Attribute, Attributes, Condition, MAX_CUSTOM_ROLES, MembershipType,
    PolicyState,
};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const GROUP: &str = "AccessGroupId-ml";
const GUID: &str = "11111111-1111-4111-8111-111111111111";
const READER: &str = "crn:v1:bluemix:public:iam::::serviceRole:Reader";
const VIEWER: &str = "crn:v1:bluemix:public:iam::::role:Viewer";

fn store() -> Store {
    let state = State::parse(crate::emulator::state::tests_support::QISKIT).expect("valid");
    Store::from_state(state, 1_700_000_000_000, 0)
}

fn actor() -> Actor {
    Actor {
        iam_id: "IBMid-ADMIN00001".into(),
        kind: KeyType::User,
    }
}

fn draft(group: &str, instance: &str, roles: &[&str]) -> PolicyDraft {
    let attr = |k: &str, v: &str| Attribute {
        key: k.into(),
        operator: Some("stringEquals".into()),
        value: AttrValue::Str(v.into()),
    };
    PolicyDraft {
        kind: "access".into(),
        description: None,
        subject: ("access_group_id".into(), group.into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        resource: Attributes(vec![
            attr("accountId", ACCOUNT),
            attr("serviceName", "quantum-computing"),
            attr("serviceInstance", instance),
        ]),
        tags: Vec::new(),
        rule: None,
        pattern: None,
    }
}

fn err<T: std::fmt::Debug>(r: Result<T, PolicyRefusal>) -> ApiError {
    match r {
        Err(PolicyRefusal::Error(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn a_policy_is_created_read_replaced_deleted_and_restored() {
    let mut s = store();
    let p = s
        .create_policy(
            &actor(),
            ApiVersion::V1,
            draft(GROUP, "guid-x", &[READER]),
            1,
        )
        .expect("created");
    let id = p.id.clone().expect("an id");
    assert_eq!(s.policy(&id).expect("readable").roles, [READER]);
    let etag = policy_etag(&p);
    assert_eq!(
        etag.split_once('-').map(|(r, h)| (r, h.len())),
        Some(("1", 32))
    );
    let e = err(s.replace_policy(
        &actor(),
        ApiVersion::V1,
        &id,
        None,
        draft(GROUP, "guid-x", &[VIEWER]),
        2,
    ));
    assert_eq!(e.status, 428);
    let e = err(s.replace_policy(
        &actor(),
        ApiVersion::V1,
        &id,
        Some("1-stale"),
        draft(GROUP, "guid-x", &[VIEWER]),
        2,
    ));
    assert_eq!(e.status, 412);
    let e = err(s.replace_policy(
        &actor(),
        ApiVersion::V2,
        &id,
        Some(&etag),
        draft(GROUP, "guid-x", &[VIEWER]),
        2,
    ));
    assert_eq!(
        (e.status, e.code),
        (400, "request_not_processed"),
        "cross-version: {}",
        e.message
    );
    let replaced = s
        .replace_policy(
            &actor(),
            ApiVersion::V1,
            &id,
            Some(&etag),
            draft(GROUP, "guid-x", &[VIEWER]),
            2,
        )
        .expect("replaced");
    let new_etag = policy_etag(&replaced);
    assert_ne!(new_etag, etag);
    assert!(new_etag.starts_with("2-"));
    assert_eq!(
        s.delete_policy(ApiVersion::V2, &id).map_err(|e| e.status),
        Err(400)
    );
    s.delete_policy(ApiVersion::V1, &id).expect("deleted");
    let e = s.policy(&id).expect_err("gone");
    assert_eq!(
        (e.status, e.message.as_str()),
        (404, format!("Policy with Id {id} not found.").as_str())
    );
    let deleted = PolicyFilter {
        access_group_id: Some(GROUP),
        state: PolicyState::Deleted,
        ..PolicyFilter::default()
    };
    assert_eq!(s.list_policies(&deleted).len(), 1);
    s.restore_policy(&actor(), &id, Some(&new_etag), "active", 3)
        .expect("restored with the ETag read before the deletion");
    assert!(s.policy(&id).is_ok());
}

#[test]
fn duplicates_conflict_across_versions_and_name_the_existing_policy() {
    let mut s = store();
    let existing = s.list_policies(&PolicyFilter::default())[0].clone();
    let r = s.create_policy(&actor(), ApiVersion::V1, draft(GROUP, GUID, &[VIEWER]), 1);
    match r {
        Err(PolicyRefusal::Duplicate(p)) => assert_eq!(p.id, existing.id),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    // Another instance is another target.
    assert!(
        s.create_policy(
            &actor(),
            ApiVersion::V2,
            draft(GROUP, "other", &[VIEWER]),
            1
        )
        .is_ok()
    );
}

/// IBM's Go integration test creates a time-based v2 policy beside a v1 policy of the
/// same subject and resource and gets a 201 (docs/ibm-api.md, question 14).
#[test]
fn conditions_are_part_of_what_makes_a_duplicate() {
    let mut s = store();
    let timed = |roles: &[&str]| PolicyDraft {
        pattern: Some("time-based-conditions:weekly:custom-hours".into()),
        rule: Some(serde_json::json!({"operator": "and", "conditions": [
            {"key": "{{environment.attributes.day_of_week}}", "operator": "dayOfWeekAnyOf",
             "value": ["1+00:00", "2+00:00"]}]})),
        ..draft(GROUP, GUID, roles)
    };
    let first = s
        .create_policy(&actor(), ApiVersion::V2, timed(&[VIEWER]), 1)
        .expect("conditions make another policy");
    match s.create_policy(&actor(), ApiVersion::V2, timed(&[READER]), 1) {
        Err(PolicyRefusal::Duplicate(p)) => assert_eq!(p.id, first.id),
        other => panic!("the same conditions again are a duplicate, got {other:?}"),
    }
}

/// IBM's Access Groups integration tests add `IBMid-<random number>`, a user no account
/// has, and get a per-member 200; it is then a member like any other.
#[test]
fn a_user_the_account_does_not_have_can_be_added_and_removed() {
    let mut s = store();
    let ghost = "IBMid-12345";
    let added = s
        .add_members(&actor(), "AccessGroupId-finance", &[(ghost, "user")], 1)
        .expect("207");
    assert_eq!(
        added[0].as_ref().ok().map(|m| m.kind),
        Some(crate::emulator::state::MemberKind::User)
    );
    assert!(s.is_member("AccessGroupId-finance", ghost));
    let again = s
        .add_to_groups(
            &actor(),
            ghost,
            "user",
            &["AccessGroupId-finance".into()],
            1,
        )
        .expect("207");
    assert!(again[0].is_ok(), "an existing member is a per-group 200");
    // The type must still fit the prefix.
    let wrong = s
        .add_members(&actor(), GROUP, &[(ghost, "service")], 1)
        .expect("207");
    assert_eq!(wrong[0].as_ref().err().map(|e| e.status), Some(400));
    s.remove_member("AccessGroupId-finance", ghost)
        .expect("204");
    assert_eq!(s.remove_from_all(ghost).map_err(|e| e.status), Err(404));
}

#[test]
fn subjects_roles_and_resources_are_checked() {
    let mut s = store();
    let e = err(s.create_policy(
        &actor(),
        ApiVersion::V2,
        draft("AccessGroupId-nope", "g", &[READER]),
        1,
    ));
    assert_eq!(
        e.message,
        "Access groups can only be assigned against resources in the same account as the access group."
    );
    let e = err(s.create_policy(
        &actor(),
        ApiVersion::V2,
        draft(GROUP, "g", &["crn:v1:bluemix:public:iam::::role:Nope"]),
        1,
    ));
    assert_eq!((e.status, e.code), (400, "invalid_body"));
    assert!(
        e.message.contains("GET /v2/roles?account_id="),
        "{}",
        e.message
    );
    let job_manager = crate::emulator::catalog::custom_role_crn(ACCOUNT, "JobManager");
    assert!(
        s.create_policy(
            &actor(),
            ApiVersion::V2,
            draft(GROUP, "g1", &[&job_manager]),
            1
        )
        .is_ok()
    );
    let mut other = draft(GROUP, "g2", &[&job_manager]);
    other.resource.0[1].value = AttrValue::Str("unknown-service".into());
    let e = err(s.create_policy(&actor(), ApiVersion::V2, other, 1));
    assert!(
        e.message.contains("not an IAM-enabled service"),
        "{}",
        e.message
    );
    let mut foreign = draft(GROUP, "g3", &[READER]);
    foreign.resource.0[0].value = AttrValue::Str("ffffffffffffffffffffffffffffffff".into());
    assert_eq!(
        err(s.create_policy(&actor(), ApiVersion::V2, foreign, 1)).status,
        400
    );
    let mut long = draft(GROUP, &"x".repeat(1001), &[READER]);
    long.description = None;
    assert_eq!(
        err(s.create_policy(&actor(), ApiVersion::V2, long, 1)).status,
        400
    );
    let mut conditioned = draft(GROUP, "g4", &[READER]);
    conditioned.rule = Some(
        serde_json::json!({"key": "{{environment.attributes.day_of_week}}", "operator": "dayOfWeekAnyOf", "value": ["1+00:00"]}),
    );
    conditioned.pattern = Some("time-based-conditions:weekly:all-day".into());
    assert_eq!(
        err(s.create_policy(&actor(), ApiVersion::V1, conditioned.clone(), 1)).status,
        400
    );
    assert!(
        s.create_policy(&actor(), ApiVersion::V2, conditioned, 1)
            .is_ok()
    );
}

#[test]
fn a_subject_holds_at_most_a_thousand_policies() {
    let mut s = store();
    let already = s
        .list_policies(&PolicyFilter {
            access_group_id: Some(GROUP),
            ..PolicyFilter::default()
        })
        .len();
    for i in already..1000 {
        s.create_policy(
            &actor(),
            ApiVersion::V2,
            draft(GROUP, &format!("g-{i}"), &[READER]),
            1,
        )
        .expect("under the limit");
    }
    let e = err(s.create_policy(
        &actor(),
        ApiVersion::V2,
        draft(GROUP, "one-more", &[READER]),
        1,
    ));
    assert_eq!((e.status, e.code), (400, "request_not_processed"));
    assert!(e.message.contains("1000"), "{}", e.message);
}

#[test]
fn deleting_a_group_takes_its_policies_and_rules() {
    let mut s = store();
    let filter = PolicyFilter {
        access_group_id: Some(GROUP),
        ..PolicyFilter::default()
    };
    assert_eq!(s.list_policies(&filter).len(), 1);
    s.delete_group(GROUP, true).expect("deleted");
    assert!(s.list_policies(&filter).is_empty());
    assert!(
        s.to_state()
            .policies
            .iter()
            .all(|p| p.access_group_id.as_deref() != Some(GROUP))
    );
}

fn update(display_name: &str, description: &str, actions: &[&str]) -> RoleUpdate {
    RoleUpdate {
        display_name: display_name.into(),
        description: description.into(),
        actions: actions.iter().map(|a| a.to_string()).collect(),
    }
}

#[test]
fn custom_roles_follow_ibms_rules() {
    let mut s = store();
    let role = |name: &str, display: &str, actions: &[&str]| RoleDraft {
        name: name.into(),
        display_name: display.into(),
        description: String::new(),
        service_name: "quantum-computing".into(),
        actions: actions.iter().map(|a| a.to_string()).collect(),
    };
    let ok = ["quantum-computing.job.read"];
    let created = s
        .create_role(&actor(), role("Runner", "Runner", &ok), 1)
        .expect("created");
    let id = created.id.clone().expect("id");
    assert!(
        String::from_utf8(
            (0..id.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(&id[i..i + 2], 16).ok())
                .collect()
        )
        .expect("hex of text")
        .starts_with("customRole-")
    );
    match s.create_role(
        &actor(),
        role("jobmanager".to_uppercase().as_str(), "X", &ok),
        1,
    ) {
        Err(RoleRefusal::Conflict { field: "name", .. }) | Err(RoleRefusal::Error(_)) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.create_role(&actor(), role("Jobmanager", "Other", &ok), 1),
        Err(RoleRefusal::Conflict { field: "name", .. })
    ));
    assert!(matches!(
        s.create_role(&actor(), role("bad", "B", &ok), 1),
        Err(RoleRefusal::Error(_))
    ));
    assert!(matches!(
        s.create_role(&actor(), role("Mixed", "M", &["iam.policy.read"]), 1),
        Err(RoleRefusal::Error(_))
    ));
    assert!(matches!(
        s.create_role(&actor(), role("Empty", "E", &[]), 1),
        Err(RoleRefusal::Error(_))
    ));
    let etag = role_etag(&created);
    assert!(
        s.replace_role(&actor(), &id, Some("1-x"), update("Runner", "", &ok), 2)
            .is_err()
    );
    let replaced = s
        .replace_role(
            &actor(),
            &id,
            Some(&etag),
            update("Runner 2", "d", &["quantum-computing.job.create"]),
            2,
        )
        .expect("replaced");
    assert_eq!(replaced.actions, ["quantum-computing.job.create"]);
    let in_use = s.custom_role_crn(&s.roles[0].clone());
    assert!(s.policies_granting(&in_use) > 0);
    let job_manager_id = s.roles[0].id.clone().expect("id");
    assert_eq!(
        s.delete_role(&job_manager_id).map_err(|e| e.status),
        Err(409)
    );
    s.delete_role(&id).expect("deleted");
    assert_eq!(s.custom_role(&id).map_err(|e| e.status).err(), Some(404));
    for k in s.roles.len()..MAX_CUSTOM_ROLES {
        s.create_role(
            &actor(),
            role(&format!("Role{k}"), &format!("Role {k}"), &ok),
            1,
        )
        .expect("under the limit");
    }
    assert!(
        matches!(s.create_role(&actor(), role("OneMore", "One more", &ok), 1), Err(RoleRefusal::Error(e)) if e.code == "request_not_processed")
    );
}

#[test]
fn rules_are_kept_to_five_and_replaced_whole() {
    let mut s = store();
    let rule = |name: Option<&str>| RuleDraft {
        name: name.map(str::to_string),
        expiration: 12,
        realm_name: "https://idp.example".into(),
        conditions: vec![Condition {
            claim: "project".into(),
            operator: "EQUALS".into(),
            value: "\"x\"".into(),
        }],
    };
    assert_eq!(s.rules(GROUP).expect("group").len(), 1);
    let mut ids = Vec::new();
    for i in 1..5 {
        ids.push(
            s.create_rule(&actor(), GROUP, rule(Some(&format!("r{i}"))), 1)
                .expect("created")
                .id
                .expect("id"),
        );
    }
    let e = s
        .create_rule(&actor(), GROUP, rule(Some("r5")), 1)
        .expect_err("six");
    assert_eq!((e.status, e.code), (400, "limit_exceeded"));
    let mut bad = rule(None);
    bad.expiration = 25;
    assert_eq!(
        s.delete_rule(GROUP, "ClaimRule-nope").map_err(|e| e.status),
        Err(404)
    );
    let current = s.rule(GROUP, &ids[0]).expect("rule").clone();
    assert_eq!(
        s.replace_rule(&actor(), GROUP, &ids[0], Some(&rule_etag(&current)), bad, 2)
            .map_err(|e| e.status),
        Err(400)
    );
    let replaced = s
        .replace_rule(
            &actor(),
            GROUP,
            &ids[0],
            Some(&rule_etag(&current)),
            rule(None),
            2,
        )
        .expect("replaced");
    assert_eq!(replaced.name, "", "a replace without a name clears it");
    assert_eq!(
        s.replace_rule(
            &actor(),
            GROUP,
            &ids[0],
            Some(&rule_etag(&current)),
            rule(None),
            3
        )
        .map_err(|e| e.status),
        Err(412)
    );
    s.delete_rule(GROUP, &ids[1]).expect("deleted");
    assert!(s.has_rules(GROUP));
}

#[test]
fn dynamic_members_are_members_that_cannot_be_removed() {
    let mut s = store();
    let dynamic = "IBMid-APPIDUSER01";
    assert!(s.is_member(GROUP, dynamic));
    assert_eq!(
        s.remove_member(GROUP, dynamic).map_err(|e| e.code),
        Err("dynamic_member")
    );
    let r = s
        .remove_members(GROUP, &[dynamic.into(), "IBMid-FATIMA0001".into()])
        .expect("207");
    assert_eq!(r, [Removal::Dynamic, Removal::Removed]);
    let all = s.remove_from_all(dynamic).expect("in one group");
    assert_eq!(all.len(), 1);
    assert!(all[0].1.is_err());
    assert!(s.is_member(GROUP, dynamic));
}

#[test]
fn instances_filter_by_state_name_and_id() {
    let mut state = State::parse(crate::emulator::state::tests_support::QISKIT).expect("valid");
    state
        .resource_instances
        .push(crate::emulator::state::ResourceInstance {
            name: "QR-ml".into(),
            service: "quantum-computing".into(),
            state: Some("removed".into()),
            ..Default::default()
        });
    let s = Store::from_state(state, 1, 0);
    let by_name = InstanceFilter {
        name: Some("QR-ml"),
        ..InstanceFilter::default()
    };
    assert_eq!(
        s.list_instances(&by_name).len(),
        1,
        "removed instances are not listed by default"
    );
    let any = InstanceFilter {
        name: Some("QR-ml"),
        states: vec!["active", "removed"],
        ..InstanceFilter::default()
    };
    assert_eq!(
        s.list_instances(&any).len(),
        2,
        "duplicate names are allowed"
    );
    assert_eq!(
        s.list_instances(&InstanceFilter {
            name: Some("qr-ml"),
            ..InstanceFilter::default()
        })
        .len(),
        0
    );
    let crn = format!("crn:v1:bluemix:public:quantum-computing:us-east:a/{ACCOUNT}:{GUID}::");
    assert_eq!(s.instance(&crn).expect("by CRN").name, "QR-ml");
    assert_eq!(s.instance(GUID).expect("by GUID").name, "QR-ml");
    assert!(
        s.instance(&crn.replace(ACCOUNT, "ffffffffffffffffffffffffffffffff"))
            .is_err()
    );
    assert_eq!(s.list_resource_groups(None, Some(true)).len(), 1);
    let _ = MembershipType::Static;
}

/// IBM refuses to delete a custom role only while an active policy grants it: once the
/// policy is deleted the role may go, the persisted state still loads, and the policy
/// cannot be restored granting a role that no longer exists.
#[test]
fn a_role_of_a_deleted_policy_may_go_and_the_policy_is_not_restored_without_it() {
    let mut s = store();
    let role = RoleDraft {
        name: "Temp".into(),
        display_name: "Temp".into(),
        description: String::new(),
        service_name: "quantum-computing".into(),
        actions: vec!["quantum-computing.job.read".into()],
    };
    let created = s.create_role(&actor(), role, 1).expect("created");
    let crn = s.custom_role_crn(&created);
    let p = s
        .create_policy(&actor(), ApiVersion::V1, draft(GROUP, "guid-x", &[&crn]), 1)
        .expect("created");
    let id = p.id.clone().expect("an id");
    let etag = policy_etag(s.policy(&id).expect("readable"));
    s.delete_policy(ApiVersion::V1, &id).expect("deleted");
    s.delete_role(&created.id.clone().expect("id"))
        .expect("no active policy grants it");
    let text = serde_json::to_string(&s.to_state()).expect("serializes");
    State::parse(&text).expect("the persisted state loads again");
    let e = err(s.restore_policy(&actor(), &id, Some(&etag), "active", 3));
    assert_eq!(e.status, 400, "{e:?}");
}
