//! One test per rule of docs/reconciliation.md, Access policies and custom roles.

use super::*;
use crate::model::PolicyShape;
use crate::plan::{AccessLoss, AccessProblem, PlanError, Target, Warning};

fn plan_err(d: &Desired, l: &Live) -> PlanError {
    plan(&d.0, &l.0, &options()).expect_err("the plan is refused")
}

/// The problems of an `Access` error.
fn problems(err: PlanError) -> Vec<AccessProblem> {
    match err {
        PlanError::Access { problems } => problems,
        other => panic!("not an access error: {other}"),
    }
}

fn names(roles: &[&str]) -> Vec<RoleName> {
    roles.iter().map(|r| RoleName::new(*r)).collect()
}

fn view(service: Option<&str>, instance: Option<(&str, InstanceGuid)>) -> Target {
    Target {
        service: service.map(ServiceName::new),
        instance: instance.as_ref().map(|(n, _)| n.to_string()),
        instance_id: instance.map(|(_, g)| g),
        resource_group: None,
        resource_group_id: None,
    }
}

/// `ml`, managed with its policies read, and the quantum-computing roles listed.
fn ml_account() -> Live {
    live()
        .ibm_roles(QC)
        .instance(QC, "QR-ml")
        .instance(QC, "QR-common")
        .group("ml")
        .policies_read("ml")
}

fn qr_ml() -> PolicyTarget {
    target(Some(QC), Some(&instance_guid("QR-ml")), None)
}

// ---------------------------------------------------------------------------
// Custom roles

#[test]
fn declared_role_the_account_lacks_is_created_with_sorted_actions() {
    let d = desired().role(
        "JobManager",
        QC,
        "Job manager",
        None,
        &["quantum-computing.job.read", "quantum-computing.job.delete"],
    );
    let p = plan_of(&d, &live());
    assert_eq!(
        p.changes,
        vec![Change::CreateRole {
            role: RoleName::new("JobManager"),
            service: ServiceName::new(QC),
            display_name: "Job manager".into(),
            description: None,
            actions: vec![
                "quantum-computing.job.delete".into(),
                "quantum-computing.job.read".into()
            ],
        }]
    );
}

#[test]
fn declared_role_with_other_display_name_or_actions_is_updated() {
    let d = desired().role(
        "JobManager",
        QC,
        "Job manager",
        Some("Runs jobs"),
        &["quantum-computing.job.read", "quantum-computing.job.delete"],
    );
    let l = live().custom_role(
        "JobManager",
        QC,
        "Jobs",
        "Runs jobs",
        &["quantum-computing.job.read", "quantum-computing.job.cancel"],
    );
    assert_eq!(
        plan_of(&d, &l).changes,
        vec![Change::UpdateRole {
            role: RoleName::new("JobManager"),
            role_id: RoleId::new("role-JobManager"),
            service: ServiceName::new(QC),
            display_name: "Job manager".into(),
            description: "Runs jobs".into(),
            actions: vec![
                "quantum-computing.job.delete".into(),
                "quantum-computing.job.read".into()
            ],
            old_display_name: "Jobs".into(),
            old_description: "Runs jobs".into(),
            old_actions: vec![
                "quantum-computing.job.cancel".into(),
                "quantum-computing.job.read".into()
            ],
        }]
    );
}

#[test]
fn role_actions_compare_as_sets_and_an_unsaid_description_is_left_alone() {
    let d = desired().role(
        "JobManager",
        QC,
        "Job manager",
        None,
        &["quantum-computing.job.read", "quantum-computing.job.delete"],
    );
    let l = live().custom_role(
        "JobManager",
        QC,
        "Job manager",
        "whatever the console says",
        &[
            "quantum-computing.job.delete",
            "quantum-computing.job.read",
            "quantum-computing.job.read",
        ],
    );
    assert!(plan_of(&d, &l).is_empty());
    // A description the file does give is governed.
    let d = d.role(
        "JobManager",
        QC,
        "Job manager",
        Some("Deletes jobs"),
        &["quantum-computing.job.read", "quantum-computing.job.delete"],
    );
    assert!(matches!(
        plan_of(&d, &l).changes.as_slice(),
        [Change::UpdateRole { description, old_description, .. }]
            if description == "Deletes jobs" && old_description == "whatever the console says"
    ));
}

#[test]
fn custom_roles_the_file_does_not_declare_are_never_changed() {
    let l =
        live()
            .group("ml")
            .custom_role("Legacy", QC, "Legacy", "", &["quantum-computing.job.read"]);
    assert!(plan_of(&desired().group("ml"), &l).is_empty());
}

#[test]
fn a_role_name_another_service_uses_fails_the_plan() {
    let d = desired().role(
        "JobManager",
        QC,
        "Job manager",
        None,
        &["quantum-computing.job.read"],
    );
    let l = live().custom_role("JobManager", COS, "Jobs", "", &["cloud-object-storage.x"]);
    let err = plan_err(&d, &l);
    assert_eq!(
        err,
        PlanError::RoleNameTaken {
            role: RoleName::new("JobManager"),
            service: ServiceName::new(QC),
            taken_by: ServiceName::new(COS),
        }
    );
    assert!(err.to_string().contains("rename the role"), "{err}");
}

#[test]
fn more_custom_roles_than_ibm_allows_fail_the_plan() {
    let mut l = live();
    for i in 0..39 {
        l = l.custom_role(
            &format!("Role{i}"),
            COS,
            "r",
            "",
            &["cloud-object-storage.x"],
        );
    }
    let d = desired()
        .role("NewOne", QC, "n", None, &["quantum-computing.job.read"])
        .role("NewTwo", QC, "n", None, &["quantum-computing.job.read"]);
    let err = plan_err(&d, &l);
    assert_eq!(
        err,
        PlanError::TooManyCustomRoles {
            live: 39,
            creates: 2
        }
    );
    assert!(
        err.to_string().contains("40 custom roles per account"),
        "{err}"
    );
    // One more fits.
    let d = desired().role("NewOne", QC, "n", None, &["quantum-computing.job.read"]);
    assert_eq!(plan_of(&d, &l).changes.len(), 1);
}

// ---------------------------------------------------------------------------
// Policies: matched by target, roles as sets

#[test]
fn an_entry_without_a_live_policy_is_created_with_role_crns_sorted_by_name() {
    let d = desired()
        .role(
            "JobManager",
            QC,
            "Job manager",
            None,
            &["quantum-computing.job.delete"],
        )
        .access(
            "ml",
            vec![entry(
                Some(QC),
                Some("QR-ml"),
                None,
                &["Viewer", "Reader", "JobManager"],
            )],
        );
    let p = plan_of(&d, &ml_account());
    let create = p
        .changes
        .iter()
        .find(|c| matches!(c, Change::CreatePolicy { .. }))
        .expect("a create_policy");
    assert_eq!(
        create,
        &Change::CreatePolicy {
            group: GroupName::new("ml"),
            group_id: Some(group_id("ml")),
            target: view(Some(QC), Some(("QR-ml", instance_guid("QR-ml")))),
            roles: names(&["JobManager", "Reader", "Viewer"]),
            // A role the file declares and the account lacks: the CRN IBM will give it.
            role_ids: vec![custom("JobManager"), ibm_role("Reader"), ibm_role("Viewer")],
        }
    );
}

#[test]
fn a_group_created_by_the_plan_gets_its_policies_without_a_group_id() {
    let d = desired().access("new", vec![entry(Some(QC), None, None, &["Reader"])]);
    let l = live().ibm_roles(QC);
    assert_eq!(
        lines(&plan_of(&d, &l)),
        [
            "create_group new",
            "create_policy new Reader on quantum-computing"
        ]
    );
    assert!(matches!(
        &plan_of(&d, &l).changes[1],
        Change::CreatePolicy { group_id: None, .. }
    ));
}

#[test]
fn a_live_policy_of_the_target_with_other_roles_is_updated_through_its_version() {
    let d = desired().access(
        "ml",
        vec![entry(Some(QC), Some("QR-ml"), None, &["Reader", "Writer"])],
    );
    let mut l = ml_account().policy("ml", "p1", qr_ml(), &[ibm_role("Reader")]);
    l.0.groups[0].policies.as_mut().unwrap()[0].version = PolicyVersion::V1;
    let p = plan_of(&d, &l);
    assert_eq!(
        p.changes,
        vec![Change::UpdatePolicy {
            group: GroupName::new("ml"),
            group_id: group_id("ml"),
            policy_id: PolicyId::new("p1"),
            api_version: PolicyVersion::V1,
            target: view(Some(QC), Some(("QR-ml", instance_guid("QR-ml")))),
            roles: names(&["Reader", "Writer"]),
            role_ids: vec![ibm_role("Reader"), ibm_role("Writer")],
            old_roles: names(&["Reader"]),
        }]
    );
    assert_eq!(p.removals(), 0, "adding a role takes nothing away");
}

#[test]
fn roles_compare_as_sets_whatever_the_order_or_repeats_of_the_listing() {
    let d = desired().access(
        "ml",
        vec![entry(Some(QC), Some("QR-ml"), None, &["Viewer", "Reader"])],
    );
    let l = ml_account().policy(
        "ml",
        "p1",
        qr_ml(),
        &[ibm_role("Reader"), ibm_role("Viewer"), ibm_role("Reader")],
    );
    assert!(plan_of(&d, &l).is_empty());
}

#[test]
fn an_update_that_drops_a_role_counts_as_a_removal_and_names_unknown_roles_by_crn() {
    let d = desired().access(
        "ml",
        vec![entry(Some(QC), Some("QR-ml"), None, &["Reader"])],
    );
    let odd = RoleCrn::new("crn:v1:bluemix:public:quantum-computing::::serviceRole:Odd");
    let l = ml_account().policy("ml", "p1", qr_ml(), &[ibm_role("Reader"), odd.clone()]);
    let p = plan_of(&d, &l);
    let [Change::UpdatePolicy { old_roles, .. }] = p.changes.as_slice() else {
        panic!("{:?}", lines(&p));
    };
    assert_eq!(
        old_roles,
        &vec![RoleName::new("Reader"), RoleName::new(odd.as_str())]
    );
    assert_eq!(p.removals(), 1);
}

#[test]
fn a_live_policy_no_entry_names_is_removed_with_the_names_the_account_has() {
    let d = desired().access("ml", vec![]);
    let l = ml_account().policy(
        "ml",
        "p1",
        qr_ml(),
        &[ibm_role("Viewer"), ibm_role("Reader")],
    );
    let p = plan_of(&d, &l);
    assert_eq!(
        p.changes,
        vec![Change::RemovePolicy {
            group: GroupName::new("ml"),
            group_id: group_id("ml"),
            policy_id: PolicyId::new("p1"),
            api_version: PolicyVersion::V2,
            target: view(Some(QC), Some(("QR-ml", instance_guid("QR-ml")))),
            roles: names(&["Reader", "Viewer"]),
            role_ids: vec![ibm_role("Reader"), ibm_role("Viewer")],
        }]
    );
    assert_eq!(p.removals(), 1);
}

#[test]
fn policies_the_file_cannot_express_are_left_alone_and_counted() {
    let d = desired().access("ml", vec![]);
    let l = ml_account().policy_shaped(
        "ml",
        "p1",
        PolicyShape::Unexpressible("the attribute `region`".into()),
        &[ibm_role("Reader")],
    );
    let p = plan_of(&d, &l);
    assert!(p.is_empty(), "{:?}", lines(&p));
    assert_eq!(p.unmanaged.policies, 1);
    assert_eq!(
        p.unmanaged.unexpressible_policies,
        [crate::plan::UnexpressiblePolicy {
            group: GroupName::new("ml"),
            policy_id: PolicyId::new("p1"),
            reason: "the attribute `region`".into(),
        }]
    );
}

#[test]
fn a_group_without_access_keeps_its_policies_untouched_and_unreported() {
    let d = desired().group("ml");
    let l = ml_account()
        .policy("ml", "p1", qr_ml(), &[ibm_role("Reader")])
        .policy_shaped("ml", "p2", PolicyShape::Unexpressible("tags".into()), &[]);
    let p = plan_of(&d, &l);
    assert!(p.is_empty());
    assert_eq!(p.unmanaged.policies, 0);
}

#[test]
fn a_policy_whose_subject_is_another_group_is_never_changed() {
    let d = desired().access("ml", vec![]);
    let mut l = ml_account().policy("ml", "p1", qr_ml(), &[ibm_role("Reader")]);
    l.0.groups[0].policies.as_mut().unwrap()[0].group = AccessGroupId::new("AccessGroupId-other");
    assert!(plan_of(&d, &l).is_empty());
}

#[test]
fn the_policies_of_a_group_with_access_must_have_been_read() {
    let d = desired().access("ml", vec![]);
    let l = live().group("ml");
    assert!(matches!(
        plan_err(&d, &l),
        PlanError::PoliciesNotRead { .. }
    ));
}

#[test]
fn of_two_live_policies_of_one_target_the_smallest_id_is_managed_and_the_other_warned_about() {
    let d = desired().access(
        "ml",
        vec![entry(Some(QC), Some("QR-ml"), None, &["Reader"])],
    );
    let l = ml_account()
        .policy("ml", "p2", qr_ml(), &[ibm_role("Viewer")])
        .policy("ml", "p1", qr_ml(), &[ibm_role("Writer")]);
    let p = plan_of(&d, &l);
    assert!(matches!(
        p.changes.as_slice(),
        [Change::UpdatePolicy { policy_id, .. }] if policy_id.as_str() == "p1"
    ));
    assert_eq!(p.unmanaged.policies, 1);
    assert_eq!(
        p.warnings,
        vec![Warning::DuplicatePolicies {
            group: GroupName::new("ml"),
            target: view(Some(QC), Some(("QR-ml", instance_guid("QR-ml")))),
            managed: PolicyId::new("p1"),
            others: vec![PolicyId::new("p2")],
        }]
    );
}

#[test]
fn more_policies_than_ibm_allows_per_group_fail_the_plan() {
    let entries: Vec<DesiredAccess> = (0..1000)
        .map(|i| entry(Some(QC), Some(&format!("guid:g{i}")), None, &["Reader"]))
        .collect();
    let d = desired().access("ml", entries);
    // 1000 entries fit; one unexpressible policy beside them does not.
    assert_eq!(plan_of(&d, &ml_account()).changes.len(), 1000);
    let l = ml_account().policy_shaped("ml", "p", PolicyShape::Unexpressible("tags".into()), &[]);
    assert_eq!(
        problems(plan_err(&d, &l)),
        vec![AccessProblem::TooManyPolicies {
            group: GroupName::new("ml"),
            policies: 1001,
            limit: 1000,
        }]
    );
}

// ---------------------------------------------------------------------------
// Targets: instances and resource groups

#[test]
fn instances_by_guid_or_crn_need_no_lookup_and_targets_match_by_guid() {
    let guid = instance_guid("QR-ml");
    let crn = format!("crn:v1:bluemix:public:{QC}:us-east:a/{ACCOUNT}:{guid}::");
    for written in [format!("guid:{guid}"), crn.clone()] {
        let d = desired().access(
            "ml",
            vec![entry(Some(QC), Some(&written), None, &["Reader"])],
        );
        let l = live()
            .ibm_roles(QC)
            .group("ml")
            .policy("ml", "p1", qr_ml(), &[ibm_role("Reader")]);
        assert!(plan_of(&d, &l).is_empty(), "{written}");
    }
    let d = desired().access(
        "ml",
        vec![entry(
            Some(QC),
            Some("crn:v1:bluemix:public:x"),
            None,
            &["Reader"],
        )],
    );
    assert_eq!(
        problems(plan_err(&d, &ml_account())),
        vec![AccessProblem::InvalidInstanceCrn {
            group: GroupName::new("ml"),
            crn: "crn:v1:bluemix:public:x".into(),
        }]
    );
}

#[test]
fn an_unknown_instance_name_fails_naming_similar_instances_of_the_service() {
    let d = desired().access(
        "ml",
        vec![entry(Some(QC), Some("QR-m1"), None, &["Reader"])],
    );
    let l = ml_account().instance(COS, "QR-m1");
    let err = plan_err(&d, &l);
    assert!(err.to_string().contains("similar names: QR-ml"), "{err}");
    assert_eq!(
        problems(err),
        vec![AccessProblem::UnknownInstance {
            group: GroupName::new("ml"),
            service: ServiceName::new(QC),
            name: "QR-m1".into(),
            similar: vec!["QR-ml".into()],
        }]
    );
}

#[test]
fn an_instance_name_two_instances_share_fails_listing_their_crns() {
    let d = desired().access(
        "ml",
        vec![entry(Some(QC), Some("QR-ml"), None, &["Reader"])],
    );
    let l = ml_account().instance_with(QC, "QR-ml", "guid-second");
    let err = plan_err(&d, &l);
    let text = err.to_string();
    assert!(
        text.contains(":guid-qr-ml::") && text.contains(":guid-second::"),
        "{text}"
    );
    assert!(text.contains("GUID"), "{text}");
    assert!(matches!(
        problems(err).as_slice(),
        [AccessProblem::AmbiguousInstance { crns, .. }] if crns.len() == 2
    ));
}

#[test]
fn resource_groups_resolve_by_name_or_id_and_an_unknown_name_fails() {
    let rg = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let l = ml_account().resource_group("Default", rg).policy(
        "ml",
        "p1",
        target(None, None, Some(rg)),
        &[ibm_role("Viewer")],
    );
    for written in ["Default".to_string(), format!("id:{rg}")] {
        let d = desired().access("ml", vec![entry(None, None, Some(&written), &["Viewer"])]);
        assert!(plan_of(&d, &l).is_empty(), "{written}");
    }
    let d = desired().access("ml", vec![entry(None, None, Some("default"), &["Viewer"])]);
    assert_eq!(
        problems(plan_err(&d, &l)),
        vec![AccessProblem::UnknownResourceGroup {
            group: GroupName::new("ml"),
            name: "default".into(),
            similar: vec!["Default".into()],
        }]
    );
    let l = l.resource_group("Default", "ffff");
    let d = desired().access("ml", vec![entry(None, None, Some("Default"), &["Viewer"])]);
    assert!(matches!(
        problems(plan_err(&d, &l)).as_slice(),
        [AccessProblem::AmbiguousResourceGroup { ids, .. }] if ids.len() == 2
    ));
}

#[test]
fn two_entries_naming_one_target_in_other_words_fail() {
    let guid = instance_guid("QR-ml");
    let d = desired().access(
        "ml",
        vec![
            entry(Some(QC), Some("QR-ml"), None, &["Reader"]),
            entry(Some(QC), Some(&format!("guid:{guid}")), None, &["Writer"]),
        ],
    );
    assert!(matches!(
        problems(plan_err(&d, &ml_account())).as_slice(),
        [AccessProblem::SameTarget { group, .. }] if group.as_str() == "ml"
    ));
}

// ---------------------------------------------------------------------------
// Roles by name

#[test]
fn an_unknown_role_fails_naming_it_the_group_and_the_service_with_did_you_mean() {
    let d = desired().access(
        "ml",
        vec![entry(Some(QC), Some("QR-ml"), None, &["Raeder"])],
    );
    let err = plan_err(&d, &ml_account());
    assert!(
        err.to_string().starts_with(
            "group `ml`, access to quantum-computing instance QR-ml: no role `Raeder` for service \
             quantum-computing; did you mean `Reader`?"
        ),
        "{err}"
    );
    assert!(matches!(
        problems(err).as_slice(),
        [AccessProblem::UnknownRole { role, suggestions, .. }]
            if role.as_str() == "Raeder" && suggestions == &names(&["Reader"])
    ));
}

#[test]
fn a_custom_role_of_another_service_is_unknown_and_says_whose_it_is() {
    let d = desired()
        .role(
            "Archiver",
            COS,
            "Archiver",
            None,
            &["cloud-object-storage.object.get"],
        )
        .access("ml", vec![entry(Some(QC), None, None, &["Archiver"])]);
    let err = plan_err(&d, &ml_account());
    assert!(
        err.to_string()
            .contains("custom role of cloud-object-storage"),
        "{err}"
    );
    assert!(matches!(
        problems(err).as_slice(),
        [AccessProblem::UnknownRole { other_service: Some(s), .. }] if s.as_str() == COS
    ));
}

#[test]
fn a_resource_group_grants_platform_roles_only() {
    let l = ml_account().resource_group("Default", "rg1");
    let d = desired().access("ml", vec![entry(None, None, Some("Default"), &["Viewer"])]);
    assert!(matches!(
        plan_of(&d, &l).changes.as_slice(),
        [Change::CreatePolicy { role_ids, .. }] if role_ids == &vec![ibm_role("Viewer")]
    ));
    let d = desired().access("ml", vec![entry(None, None, Some("Default"), &["Reader"])]);
    assert!(matches!(
        problems(plan_err(&d, &l)).as_slice(),
        [AccessProblem::UnknownRole { .. }]
    ));
}

#[test]
fn a_custom_role_already_in_the_account_is_granted_by_its_live_crn() {
    let crn = RoleCrn::new("crn:v1:ibmcloud:public:iam-access-management::a/other::customRole:Ops");
    let mut l = ml_account().custom_role("Ops", QC, "Ops", "", &["quantum-computing.job.read"]);
    l.0.roles.last_mut().unwrap().crn = crn.clone();
    let d = desired().access("ml", vec![entry(Some(QC), None, None, &["Ops"])]);
    assert!(matches!(
        plan_of(&d, &l).changes.as_slice(),
        [Change::CreatePolicy { role_ids, .. }] if role_ids == &vec![crn.clone()]
    ));
}

#[test]
fn every_unresolvable_entry_of_the_file_is_reported_at_once() {
    let d = desired()
        .access("ml", vec![entry(Some(QC), Some("nope"), None, &["Reader"])])
        .access("zeta", vec![entry(Some(QC), None, None, &["Nope"])]);
    let l = ml_account().group("zeta").policies_read("zeta");
    let err = plan_err(&d, &l);
    assert!(
        err.to_string()
            .starts_with("2 access entries of the file cannot be planned:\n  - group `ml`"),
        "{err}"
    );
    assert_eq!(problems(err).len(), 2);
}

// ---------------------------------------------------------------------------
// Safety and order

#[test]
fn the_plan_warns_when_it_reduces_what_a_group_of_the_caller_grants_on_iam() {
    const GROUPS: &str = "iam-groups";
    let d = desired().access("ml", vec![entry(Some(GROUPS), None, None, &["Viewer"])]);
    let on_groups = target(Some(GROUPS), None, None);
    let default = target(None, None, Some("rg-default"));
    let l = ml_account()
        .ibm_roles(GROUPS)
        .resource_group("Default", "rg-default")
        .member_id("ml", CALLER, "service")
        .policy(
            "ml",
            "p1",
            on_groups,
            &[ibm_role("Viewer"), ibm_role("Editor")],
        )
        .policy("ml", "p2", default, &[ibm_role("Viewer")]);
    let p = plan_of(&d, &l);
    assert_eq!(
        p.warnings,
        vec![Warning::CallerAccessReduced {
            group: GroupName::new("ml"),
            caller: IamId::new(CALLER),
            losses: vec![
                AccessLoss::Dropped {
                    target: view(Some(GROUPS), None),
                    roles: names(&["Editor"]),
                },
                AccessLoss::Revoked {
                    target: Target {
                        resource_group: Some("Default".into()),
                        resource_group_id: Some(ResourceGroupId::new("rg-default")),
                        ..view(None, None)
                    },
                    roles: names(&["Viewer"]),
                },
            ],
        }]
    );
    assert!(p.warnings[0].to_string().contains(
        "reduces what `ml` grants: drops Editor on iam-groups; revokes Viewer on resource group Default"
    ), "{}", p.warnings[0]);
    // Not a member: no warning.
    let p = plan_of(&d, &Live(l.0.clone()).caller("IBMid-someone"));
    assert!(p.warnings.is_empty());
}

/// orgsync never needs a role on a Qiskit Runtime instance to finish an apply (it looks
/// instances up before the first write), so taking one away warns of nothing.
#[test]
fn reducing_a_grant_on_a_service_apply_does_not_use_is_no_lockout() {
    let d = desired().access(
        "ml",
        vec![entry(Some(QC), Some("QR-ml"), None, &["Reader"])],
    );
    let common = target(Some(QC), Some(&instance_guid("QR-common")), None);
    let l = ml_account()
        .member_id("ml", CALLER, "service")
        .policy(
            "ml",
            "p1",
            qr_ml(),
            &[ibm_role("Reader"), ibm_role("Writer")],
        )
        .policy("ml", "p2", common, &[ibm_role("Viewer")]);
    let p = plan_of(&d, &l);
    assert_eq!(p.removals(), 2, "{:?}", lines(&p));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn grants_come_before_memberships_and_revocations_after_them() {
    let (d, l) = realistic_access();
    let kinds: Vec<&str> = plan_of(&d, &l)
        .changes
        .iter()
        .map(|c| c.kind().as_str())
        .collect();
    let mut sorted = kinds.clone();
    sorted.sort_by_key(|k| {
        crate::plan::ChangeKind::ALL
            .iter()
            .position(|c| c.as_str() == *k)
    });
    assert_eq!(kinds, sorted);
    assert_eq!(
        lines(&plan_of(&d, &l)),
        [
            "create_role Observer (quantum-computing)",
            "update_role JobManager (quantum-computing)",
            "create_group finance",
            "update_group ml description \"ML\" -> \"Machine-learning project\"",
            "create_policy finance Reader on quantum-computing instance QR-common",
            "create_policy finance Observer, Reader on quantum-computing instance QR-finance",
            "create_policy ml Viewer on resource group Default",
            "update_policy ml on quantum-computing instance QR-common: Reader, Writer -> Reader",
            "update_policy ml on quantum-computing instance QR-ml: Reader, Viewer -> JobManager, Reader, Viewer",
            "create_rule \"finance-project\" of finance",
            "create_rule \"ml-readers\" of ml-readers",
            "update_rule \"ml-project\" of ml",
            "invite_user chen@example.com into finance",
            // amyra is a dynamic member of ml already, which counts as being in it.
            "add_member amyra@example.com (IBMid-amyra) to finance",
            "add_member ravi@example.com (IBMid-ravi) to finance",
            "remove_member ravi@example.com (IBMid-ravi) from ml",
            "remove_rule \"legacy\" of ml",
            "remove_policy ml JobManager, Viewer on quantum-computing instance QR-old",
            "remove_user eve@example.com (IBMid-eve) leaving ml and 2 groups orgsync does not manage: billing-admins, lab-viewers",
        ]
    );
}
