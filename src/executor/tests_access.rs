//! The executor's roles, policies and rules against an account in memory ([`Fake`]): the
//! jobs and their dependencies, the re-read protocol of each create, 412/404 handling
//! through the writer, verification, and the progress sink.

use std::sync::{Arc, Mutex};

use super::fake::{Call, Fake, Fault};
use super::jobs::jobs;
use super::schedule::{Ended, Running};
use super::tests::{
    create, created, dependencies, filled, g, plan, problem, quiet, run, start_ready, statuses,
};
use super::*;
use crate::model::{
    DesiredRole, InstanceGuid, LiveRule, PolicyId, PolicyTarget, PolicyVersion, RoleCrn, RoleId,
    RoleName, RuleCondition, RuleId, RuleOperator, ServiceName,
};
use crate::plan::{Change, Target};

const VIEWER: &str = "crn:v1:bluemix:public:iam::::role:Viewer";
const READER: &str = "crn:v1:bluemix:public:iam::::serviceRole:Reader";

fn target(instance: &str) -> Target {
    Target {
        service: Some(ServiceName::new("quantum-computing")),
        instance: Some(instance.into()),
        instance_id: Some(InstanceGuid::new(format!("guid-{instance}"))),
        ..Target::default()
    }
}

fn policy_target(instance: &str) -> PolicyTarget {
    super::jobs::policy_target(&target(instance))
}

fn create_policy(group: &str, known: bool, instance: &str, roles: &[(&str, &str)]) -> Change {
    Change::CreatePolicy {
        group: g(group),
        group_id: known.then(|| AccessGroupId::new(format!("AccessGroupId-{group}"))),
        target: target(instance),
        roles: roles.iter().map(|(n, _)| RoleName::new(*n)).collect(),
        role_ids: roles.iter().map(|(_, c)| RoleCrn::new(*c)).collect(),
    }
}

fn update_policy(group: &str, id: &str, instance: &str, roles: &[&str], old: &[&str]) -> Change {
    Change::UpdatePolicy {
        group: g(group),
        group_id: AccessGroupId::new(format!("AccessGroupId-{group}")),
        policy_id: PolicyId::new(id),
        api_version: PolicyVersion::V1,
        target: target(instance),
        roles: roles.iter().map(|r| RoleName::new(*r)).collect(),
        role_ids: roles
            .iter()
            .map(|r| RoleCrn::new(format!("crn-{r}")))
            .collect(),
        old_roles: old.iter().map(|r| RoleName::new(*r)).collect(),
    }
}

fn remove_policy(group: &str, id: &str, instance: &str) -> Change {
    Change::RemovePolicy {
        group: g(group),
        group_id: AccessGroupId::new(format!("AccessGroupId-{group}")),
        policy_id: PolicyId::new(id),
        api_version: PolicyVersion::V2,
        target: target(instance),
        roles: vec![RoleName::new("Viewer")],
        role_ids: vec![RoleCrn::new(VIEWER)],
    }
}

fn job_manager() -> DesiredRole {
    DesiredRole {
        name: RoleName::new("JobManager"),
        service: ServiceName::new("quantum-computing"),
        display_name: "Job manager".into(),
        description: None,
        actions: ["quantum-computing.job.delete".to_string()].into(),
    }
}

fn create_role() -> Change {
    let role = job_manager();
    Change::CreateRole {
        role: role.name,
        service: role.service,
        display_name: role.display_name,
        description: None,
        actions: role.actions.into_iter().collect(),
    }
}

fn condition(value: &str) -> RuleCondition {
    RuleCondition {
        claim: "project".into(),
        operator: RuleOperator::Contains,
        value: value.into(),
    }
}

fn create_rule(group: &str, known: bool, name: &str) -> Change {
    Change::CreateRule {
        group: g(group),
        group_id: known.then(|| AccessGroupId::new(format!("AccessGroupId-{group}"))),
        rule: name.into(),
        realm: "https://idp.example".into(),
        expiration_hours: 24,
        conditions: vec![condition("ml")],
    }
}

fn remove_rule(group: &str, id: &str) -> Change {
    Change::RemoveRule {
        group: g(group),
        group_id: AccessGroupId::new(format!("AccessGroupId-{group}")),
        rule: "old".into(),
        rule_id: RuleId::new(id),
    }
}

#[test]
fn every_new_kind_is_one_job_and_none_is_skipped_as_unsupported() {
    let changes = vec![
        create_role(),
        create_policy("g1", true, "a", &[("Viewer", VIEWER)]),
        update_policy("g1", "p1", "b", &["Reader"], &["Viewer"]),
        remove_policy("g1", "p2", "c"),
        create_rule("g1", true, "r"),
        remove_rule("g1", "r0"),
    ];
    let jobs = jobs(&plan(changes), 10);
    assert_eq!(jobs.len(), 6);
    assert!(jobs.iter().all(|j| j.indices().len() == 1));
}

#[test]
fn a_policy_granting_a_role_this_apply_creates_waits_for_it_and_is_skipped_if_it_failed() {
    let changes = vec![
        create_role(), // 0
        create_policy(
            "g1",
            true,
            "a",
            &[("JobManager", "crn-jm"), ("Viewer", VIEWER)],
        ), // 1
        create_policy("g1", true, "b", &[("Viewer", VIEWER)]), // 2
    ];
    let mut waiting = jobs(&plan(changes.clone()), 10);
    let mut deps = dependencies(&waiting);
    assert_eq!(start_ready(&mut deps, &mut waiting), [0, 2]);
    let role_done = |applied| {
        let job = Running {
            creates_role: Some(RoleName::new("JobManager")),
            ..Running::default()
        };
        (
            job,
            Ended {
                created: None,
                applied,
            },
        )
    };
    let (job, ended) = role_done(true);
    deps.finished(&job, &ended);
    assert_eq!(start_ready(&mut deps, &mut waiting), [1]);
    // The role create failed: the policy that grants it is skipped, saying why.
    let mut waiting = jobs(&plan(changes), 10);
    let mut deps = dependencies(&waiting);
    start_ready(&mut deps, &mut waiting);
    let (job, ended) = role_done(false);
    deps.finished(&job, &ended);
    let policy = waiting.pop().expect("the policy waits");
    match deps.readiness(&policy) {
        super::schedule::Readiness::Skip(why) => {
            assert_eq!(
                why.to_string(),
                "grants custom role JobManager, whose create failed"
            )
        }
        _ => panic!("skipped"),
    }
}

#[test]
fn revocations_in_a_group_wait_for_its_grants_and_policies_of_a_new_group_for_its_id() {
    let changes = vec![
        create("new"),                                                      // 0
        create_policy("g1", true, "a", &[("Viewer", VIEWER)]),              // 1
        update_policy("g1", "p1", "b", &["Reader", "Viewer"], &["Viewer"]), // 2: widens
        update_policy("g1", "p3", "d", &["Viewer"], &["Reader", "Viewer"]), // 3: reduces
        remove_policy("g1", "p2", "c"),                                     // 4
        remove_rule("g1", "r0"),                                            // 5
        remove_policy("g2", "p9", "c"),                                     // 6: other group
        create_policy("new", false, "a", &[("Viewer", VIEWER)]),            // 7
        create_rule("new", false, "r"),                                     // 8
    ];
    let mut waiting = jobs(&plan(changes), 10);
    let mut deps = dependencies(&waiting);
    assert_eq!(start_ready(&mut deps, &mut waiting), [0, 1, 2, 6]);
    let grant = Running {
        grants: Some(g("g1")),
        ..Running::default()
    };
    deps.finished(&grant, &super::tests::failed());
    assert_eq!(start_ready(&mut deps, &mut waiting), Vec::<usize>::new());
    // A grant that failed releases the revocations too: they wait for it to finish, not
    // to succeed.
    deps.finished(&grant, &super::tests::failed());
    assert_eq!(start_ready(&mut deps, &mut waiting), [3, 4, 5]);
    created(&mut deps, "new", Some("AccessGroupId-new"));
    assert_eq!(start_ready(&mut deps, &mut waiting), [7, 8]);
    filled(&mut deps, "g1");
    assert!(waiting.is_empty());
}

#[tokio::test]
async fn a_policy_create_whose_answer_was_lost_is_found_and_not_sent_again() {
    let fake = Fake::new().group("g1", &[]);
    fake.fault(Call::CreatePolicy, Fault::Timeout);
    let report = run(
        &fake,
        vec![create_policy("g1", true, "a", &[("Viewer", VIEWER)])],
        &Options::default(),
    )
    .await;
    assert_eq!(
        statuses(&report),
        [Status::Applied],
        "{:?}",
        report.entries[0].error
    );
    let log = fake.log();
    let creates = log
        .iter()
        .filter(|l| l.starts_with("create_policy"))
        .count();
    assert_eq!(creates, 1, "{log:?}");
    assert!(
        log.contains(&"list_policies AccessGroupId-g1".to_string()),
        "{log:?}"
    );
    assert_eq!(
        fake.policies_of("g1"),
        [(policy_target("a"), vec![VIEWER.to_string()])]
    );
}

#[tokio::test]
async fn a_policy_create_that_did_not_land_is_sent_again_after_looking() {
    let fake = Fake::new().group("g1", &[]);
    fake.fault(Call::CreatePolicy, Fault::Unavailable { landed: false });
    let report = run(
        &fake,
        vec![create_policy("g1", true, "a", &[("Viewer", VIEWER)])],
        &quiet(),
    )
    .await;
    assert_eq!(statuses(&report), [Status::Applied]);
    assert_eq!(
        fake.log(),
        [
            "create_policy AccessGroupId-g1 quantum-computing/guid-a",
            "pause 1",
            "list_policies AccessGroupId-g1",
            "create_policy AccessGroupId-g1 quantum-computing/guid-a",
        ]
    );
}

#[tokio::test]
async fn a_409_for_the_same_target_and_roles_means_it_landed_and_for_other_roles_a_conflict() {
    // Someone (or an earlier, unanswered attempt) made exactly this policy.
    let fake = Fake::new()
        .group("g1", &[])
        .policy("p-7", "g1", policy_target("a"), &[VIEWER]);
    let report = run(
        &fake,
        vec![create_policy("g1", true, "a", &[("Viewer", VIEWER)])],
        &quiet(),
    )
    .await;
    assert_eq!(statuses(&report), [Status::Applied]);
    // Other roles on that target: not this create; not sent again.
    let fake = Fake::new()
        .group("g1", &[])
        .policy("p-7", "g1", policy_target("a"), &[READER]);
    let report = run(
        &fake,
        vec![create_policy("g1", true, "a", &[("Viewer", VIEWER)])],
        &quiet(),
    )
    .await;
    assert_eq!(statuses(&report), [Status::Failed]);
    assert_eq!(
        problem(&report, 0).to_string(),
        "the policy on quantum-computing instance guid-a exists already (policy p-7) with other roles; plan again to see it"
    );
    let creates = fake
        .log()
        .iter()
        .filter(|l| l.starts_with("create_policy"))
        .count();
    assert_eq!(creates, 1);
}

#[tokio::test]
async fn a_409_the_re_read_cannot_explain_is_the_answer_not_a_reason_to_send_again() {
    let fake = Fake::new().group("g1", &[]);
    fake.fault(Call::CreatePolicy, Fault::Status(409));
    let report = run(
        &fake,
        vec![create_policy("g1", true, "a", &[("Viewer", VIEWER)])],
        &quiet(),
    )
    .await;
    assert_eq!(statuses(&report), [Status::Failed]);
    assert_eq!(
        report.entries[0].error.as_ref().map(|p| p.info().status),
        Some(Some(409))
    );
    assert_eq!(
        fake.log(),
        [
            "create_policy AccessGroupId-g1 quantum-computing/guid-a",
            "pause 1",
            "list_policies AccessGroupId-g1",
        ]
    );
}

#[tokio::test]
async fn a_role_create_that_landed_before_its_409_is_applied_and_the_policy_then_runs() {
    let fake = Fake::new().group("g1", &[]);
    fake.fault(Call::CreateRole, Fault::Unavailable { landed: true });
    let changes = vec![
        create_role(),
        create_policy("g1", true, "a", &[("JobManager", "crn-jm")]),
    ];
    let report = run(&fake, changes, &Options::default()).await;
    assert_eq!(
        statuses(&report),
        [Status::Applied, Status::Applied],
        "{:?}",
        report.entries
    );
    let log = fake.log();
    assert_eq!(
        log.iter().filter(|l| l.starts_with("create_role")).count(),
        1,
        "{log:?}"
    );
    assert!(
        super::tests::position(&log, "list_roles quantum-computing")
            < super::tests::position(
                &log,
                "create_policy AccessGroupId-g1 quantum-computing/guid-a"
            )
    );
    assert_eq!(fake.roles().len(), 1);
}

#[tokio::test]
async fn a_rule_create_after_a_timeout_is_found_by_name_and_not_duplicated() {
    let fake = Fake::new().group("g1", &[]);
    fake.fault(Call::CreateRule, Fault::Timeout);
    let report = run(
        &fake,
        vec![create_rule("g1", true, "ml-project")],
        &Options::default(),
    )
    .await;
    assert_eq!(statuses(&report), [Status::Applied]);
    assert_eq!(fake.rules_of("g1"), ["ml-project"]);
}

#[tokio::test]
async fn removals_answered_404_are_gone_already_and_updates_go_through_the_version() {
    let fake = Fake::new()
        .group("g1", &[])
        .policy("p1", "g1", policy_target("b"), &["crn-Viewer"])
        .rule(
            "g1",
            LiveRule {
                id: RuleId::new("r0"),
                name: "old".into(),
                realm: "x".into(),
                expiration_hours: 1,
                conditions: vec![],
                unreadable_conditions: 0,
            },
        );
    let changes = vec![
        update_policy("g1", "p1", "b", &["Reader", "Viewer"], &["Viewer"]),
        remove_policy("g1", "gone", "c"),
        remove_rule("g1", "r0"),
    ];
    let report = run(&fake, changes, &Options::default()).await;
    assert_eq!(
        statuses(&report),
        [Status::Applied; 3],
        "{:?}",
        report.entries
    );
    let log = fake.log();
    assert!(log.contains(&"replace_policy p1 v1".to_string()), "{log:?}");
    assert!(
        log.contains(&"delete_policy gone v2".to_string()),
        "{log:?}"
    );
    assert_eq!(
        fake.policies_of("g1"),
        [(
            policy_target("b"),
            vec!["crn-Reader".to_string(), "crn-Viewer".to_string()]
        )]
    );
    assert!(fake.rules_of("g1").is_empty());
}

#[tokio::test]
async fn verification_reads_the_touched_policies_rules_and_roles_once_and_judges_them() {
    let fake = Fake::new()
        .group("g1", &[])
        .group("g2", &[])
        .role("role-1", job_manager());
    let changes = vec![
        create_policy("g1", true, "a", &[("Viewer", VIEWER)]),
        create_policy("g2", true, "a", &[("Viewer", VIEWER)]),
        create_rule("g2", true, "r"),
        create_role(),
    ];
    let report = run(&fake, changes, &Options::default()).await;
    // The role create met the existing role with the same content: landed.
    assert_eq!(
        statuses(&report),
        [Status::Applied; 4],
        "{:?}",
        report.entries
    );
    let log = fake.log();
    let after = super::tests::position(&log, "create_rule AccessGroupId-g2 r") + 1;
    let reads: std::collections::BTreeSet<&str> = log[after..]
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with("list_"))
        .collect();
    // Two touched groups: one account-wide policy listing, as acquisition would.
    assert!(reads.contains("list_policies"), "{log:?}");
    assert!(reads.contains("list_rules AccessGroupId-g2"), "{log:?}");
    assert!(reads.contains("list_roles quantum-computing"), "{log:?}");
}

#[tokio::test]
async fn the_progress_sink_hears_of_every_change_once_with_running_counts() {
    let fake = Fake::new().group("g1", &[]);
    type Heard = Vec<(String, Status, usize, usize)>;
    let heard: Arc<Mutex<Heard>> = Arc::default();
    let sink = {
        let heard = heard.clone();
        Progress::new(move |f| {
            heard.lock().unwrap().push((
                f.change.kind().as_str().to_string(),
                f.status,
                f.done,
                f.total,
            ))
        })
    };
    let options = Options {
        progress: Some(sink),
        ..quiet()
    };
    fake.fault(Call::CreateGroup, Fault::Status(400));
    let changes = vec![
        create("bad"),
        create_policy("bad", false, "a", &[("Viewer", VIEWER)]),
        create_policy("g1", true, "a", &[("Viewer", VIEWER)]),
    ];
    run(&fake, changes, &options).await;
    let heard = heard.lock().unwrap().clone();
    assert_eq!(heard.len(), 3, "{heard:?}");
    assert_eq!(heard.iter().map(|h| h.2).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(heard.iter().all(|h| h.3 == 3));
    let outcome = |kind: &str, status| {
        heard
            .iter()
            .filter(|h| h.0 == kind && h.1 == status)
            .count()
    };
    assert_eq!(outcome("create_group", Status::Failed), 1);
    assert_eq!(outcome("create_policy", Status::Skipped), 1);
    assert_eq!(outcome("create_policy", Status::Applied), 1);
}

#[test]
fn an_update_of_a_role_keeps_its_id() {
    let change = Change::UpdateRole {
        role: RoleName::new("JobManager"),
        role_id: RoleId::new("role-1"),
        service: ServiceName::new("quantum-computing"),
        display_name: "d".into(),
        description: "x".into(),
        actions: vec!["a".into()],
        old_display_name: "d".into(),
        old_description: String::new(),
        old_actions: vec![],
    };
    match jobs(&plan(vec![change]), 10).pop() {
        Some(super::jobs::Job::UpdateRole { role_id, role, .. }) => {
            assert_eq!(role_id.as_str(), "role-1");
            assert_eq!(role.description.as_deref(), Some("x"));
        }
        other => panic!("{other:?}"),
    }
}
