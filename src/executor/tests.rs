//! The executor against an account in memory ([`Fake`]): batching, ordering, skips,
//! interruption, per-member failures, the re-read protocol and verification — no HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Notify;

use super::fake::{Call, Fake, Fault};
use super::jobs::{Job, jobs};
use super::schedule::{Dependencies, Ended, Readiness, Running};
use super::*;
use crate::model::{Email, UserState};
use crate::plan::expect::Discrepancy;
use crate::plan::{Change, Summary, Unmanaged};

pub(super) fn plan(changes: Vec<Change>) -> Plan {
    Plan {
        format_version: crate::plan::FORMAT_VERSION,
        account_id: account(),
        config_digest: "sha256:00".into(),
        live_digest: "sha256:00".into(),
        summary: Summary::of(&changes),
        changes,
        warnings: Vec::new(),
        unmanaged: Unmanaged::default(),
        rosters: BTreeMap::new(),
    }
}

pub(super) fn account() -> AccountId {
    AccountId::new("0123456789abcdef0123456789abcdef")
}

pub(super) fn g(name: &str) -> GroupName {
    GroupName::new(name)
}

pub(super) fn add(group: &str, id: Option<&str>, n: usize) -> Change {
    Change::AddMember {
        group: g(group),
        group_id: id.map(AccessGroupId::new),
        email: Email::new(&format!("a{n}@x.org")),
        iam_id: IamId::new(format!("IBMid-A{n}")),
    }
}

pub(super) fn add_to(group: &str, n: usize) -> Change {
    add(group, Some(&format!("AccessGroupId-{group}")), n)
}

fn remove(group: &str, n: usize) -> Change {
    Change::RemoveMember {
        group: g(group),
        group_id: AccessGroupId::new(format!("AccessGroupId-{group}")),
        email: None,
        iam_id: IamId::new(format!("IBMid-R{n}")),
    }
}

fn invite(n: usize, groups: &[&str]) -> Change {
    Change::InviteUser {
        email: Email::new(&format!("i{n}@x.org")),
        groups: groups.iter().map(|x| g(x)).collect(),
        replaces_iam_id: None,
        other_groups: Vec::new(),
    }
}

pub(super) fn create(group: &str) -> Change {
    Change::CreateGroup {
        group: g(group),
        description: None,
    }
}

pub(super) fn quiet() -> Options {
    Options {
        verify: false,
        ..Options::default()
    }
}

pub(super) async fn run(fake: &Fake, changes: Vec<Change>, options: &Options) -> ApplyReport {
    apply(&plan(changes), &account(), &fake.ids(), fake, options, None).await
}

pub(super) fn statuses(report: &ApplyReport) -> Vec<Status> {
    report.entries.iter().map(|e| e.status).collect()
}

pub(super) fn problem(report: &ApplyReport, i: usize) -> &Problem {
    report.entries[i].error.as_ref().expect("a problem")
}

pub(super) fn position(log: &[String], line: &str) -> usize {
    log.iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("{line:?} not in {log:?}"))
}

/// Lets the other tasks run until `log` shows `line`.
pub(super) async fn until_logged(fake: &Fake, line: &str) {
    for _ in 0..1_000 {
        if fake.log().iter().any(|l| l == line) {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("{line:?} never logged: {:?}", fake.log());
}

#[test]
fn calls_are_batched_by_fifty_members_and_by_identical_group_sets() {
    let mut changes: Vec<Change> = (0..120).map(|n| add_to("g1", n)).collect();
    changes.extend((0..51).map(|n| remove("g2", n)));
    changes.extend((0..15).map(|n| invite(n, &["a"])));
    changes.extend((15..25).map(|n| invite(n, &["a", "b"])));
    let jobs = jobs(&plan(changes), 10);
    let count = |kind: fn(&Job) -> bool| jobs.iter().filter(|j| kind(j)).count();
    assert_eq!(count(|j| matches!(j, Job::Add { .. })), 3);
    assert_eq!(count(|j| matches!(j, Job::Remove { .. })), 2);
    assert_eq!(count(|j| matches!(j, Job::Invite { .. })), 2 + 1);
    let sizes: Vec<usize> = jobs.iter().map(|j| j.indices().len()).collect();
    assert_eq!(sizes, [10, 5, 10, 50, 50, 20, 50, 1]);
}

/// Starts every ready job (as the scheduler does) and returns the indices of their changes.
pub(super) fn start_ready(deps: &mut Dependencies, waiting: &mut Vec<Job>) -> Vec<usize> {
    let mut started = Vec::new();
    for job in std::mem::take(waiting) {
        match deps.readiness(&job) {
            Readiness::Ready(_) => started.extend(job.indices()),
            Readiness::Wait => waiting.push(job),
            Readiness::Skip(_) => deps.finished(&Running::of(&job), &failed()),
        }
    }
    started.sort_unstable();
    started
}

pub(super) fn failed() -> Ended {
    Ended {
        created: None,
        applied: false,
    }
}

/// An add or invite into `group` finished.
pub(super) fn filled(deps: &mut Dependencies, group: &str) {
    let job = Running {
        fills: vec![g(group)],
        ..Running::default()
    };
    deps.finished(&job, &failed());
}

/// The create of `group` finished, with `id` or failed.
pub(super) fn created(deps: &mut Dependencies, group: &str, id: Option<&str>) {
    let job = Running {
        creates: Some(g(group)),
        ..Running::default()
    };
    let ended = Ended {
        created: id.map(AccessGroupId::new),
        applied: id.is_some(),
    };
    deps.finished(&job, &ended);
}

pub(super) fn dependencies(jobs: &[Job]) -> Dependencies {
    let ids = [
        (g("g1"), AccessGroupId::new("AccessGroupId-g1")),
        (g("g2"), AccessGroupId::new("AccessGroupId-g2")),
    ];
    Dependencies::of(jobs, ids.into())
}

#[test]
fn removals_wait_for_the_adds_and_invites_into_their_own_group_only() {
    let changes = vec![
        invite(0, &["g1"]), // 0
        add_to("g1", 1),    // 1
        remove("g1", 2),    // 2
        remove("g2", 3),    // 3
        Change::RemoveUser {
            email: Email::new("u@x.org"),
            iam_id: IamId::new("IBMid-U"),
            groups: vec![g("g1")],
            other_groups: Vec::new(),
        }, // 4
    ];
    let mut waiting = jobs(&plan(changes), 10);
    let mut deps = dependencies(&waiting);
    // Everything but what touches g1's removals starts at once.
    assert_eq!(start_ready(&mut deps, &mut waiting), [0, 1, 3]);
    // The add finished; the invite into g1 still runs.
    filled(&mut deps, "g1");
    assert_eq!(start_ready(&mut deps, &mut waiting), Vec::<usize>::new());
    filled(&mut deps, "g1");
    assert_eq!(start_ready(&mut deps, &mut waiting), [2, 4]);
    assert!(waiting.is_empty());
}

#[test]
fn changes_naming_a_new_group_wait_for_its_id_and_are_skipped_if_the_create_failed() {
    let changes = vec![
        create("new"),             // 0
        create("bad"),             // 1
        add("new", None, 2),       // 2
        add("bad", None, 3),       // 3
        invite(4, &["g1", "new"]), // 4
        invite(5, &["bad", "g1"]), // 5
        add_to("g1", 6),           // 6
    ];
    let mut waiting = jobs(&plan(changes), 10);
    let mut deps = dependencies(&waiting);
    assert_eq!(start_ready(&mut deps, &mut waiting), [0, 1, 6]);
    created(&mut deps, "new", Some("AccessGroupId-new"));
    created(&mut deps, "bad", None);
    // The add and invite naming `bad` are skipped, not started.
    assert_eq!(start_ready(&mut deps, &mut waiting), [2, 4]);
    assert!(waiting.is_empty());
    let job = jobs(&plan(vec![add("new", None, 0)]), 10).pop();
    match job.map(|j| deps.readiness(&j)) {
        Some(Readiness::Ready(ids)) => {
            assert_eq!(ids, [AccessGroupId::new("AccessGroupId-new")]);
        }
        _ => panic!("an add into a created group gets its new id"),
    }
}

#[tokio::test]
async fn every_change_is_made_in_the_batched_minimum_of_calls() {
    let fake = Fake::new().group("g1", &[]).group("g2", &["IBMid-R0"]);
    let mut changes: Vec<Change> = (0..60).map(|n| add_to("g1", n)).collect();
    changes.push(remove("g2", 0));
    changes.extend((0..12).map(|n| invite(n, &["g1"])));
    let report = run(&fake, changes, &quiet()).await;
    assert!(!report.has_failures(), "{:?}", statuses(&report));
    let log = fake.log();
    let calls = |prefix: &str| log.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(
        (calls("add "), calls("remove "), calls("invite ")),
        (2, 1, 2)
    );
    assert_eq!(fake.members("g1").len(), 60 + 12);
    assert!(fake.members("g2").is_empty());
    // The transaction id of each call reaches its changes.
    assert!(report.entries.iter().all(|e| e.transaction_id.is_some()));
}

#[tokio::test]
async fn a_removal_starts_only_after_the_adds_into_its_group_finished() {
    let fake = Fake::new()
        .group("g1", &["IBMid-R0"])
        .group("g2", &["IBMid-R1"]);
    let gate = Arc::new(Notify::new());
    fake.fault(Call::Add, Fault::Gate(gate.clone()));
    let changes = vec![add_to("g1", 0), remove("g1", 0), remove("g2", 1)];
    let options = quiet();
    let applying = run(&fake, changes, &options);
    let watching = async {
        // The add into g1 hangs; the removal from g2 goes ahead, g1's waits.
        until_logged(&fake, "remove AccessGroupId-g2 1").await;
        assert!(
            !fake
                .log()
                .contains(&"remove AccessGroupId-g1 1".to_string())
        );
        gate.notify_one();
    };
    let (report, ()) = tokio::join!(applying, watching);
    assert!(!report.has_failures(), "{:?}", statuses(&report));
    let log = fake.log();
    assert!(position(&log, "add AccessGroupId-g1 1") < position(&log, "remove AccessGroupId-g1 1"));
}

#[tokio::test]
async fn a_failed_create_skips_what_names_its_group_and_nothing_else() {
    let fake = Fake::new().group("g1", &[]);
    fake.fault(Call::CreateGroup, Fault::Status(400));
    let changes = vec![
        create("new"),
        add("new", None, 0),
        invite(1, &["g1", "new"]),
        add_to("g1", 2),
    ];
    let report = run(&fake, changes, &quiet()).await;
    use Status::*;
    assert_eq!(statuses(&report), [Failed, Skipped, Skipped, Applied]);
    assert!(matches!(problem(&report, 0), Problem::Api(info) if info.status == Some(400)));
    for i in [1, 2] {
        assert_eq!(
            problem(&report, i),
            &Problem::Skipped(SkipReason::CreateFailed(g("new")))
        );
    }
    // A 400 is not ambiguous: no re-read, no second create, no call into the group.
    assert_eq!(fake.log(), ["create_group new", "add AccessGroupId-g1 1"]);
}

#[tokio::test]
async fn a_task_that_panics_fails_its_change_and_skips_its_dependants() {
    let fake = Fake::new();
    fake.fault(Call::CreateGroup, Fault::Panic);
    let report = run(&fake, vec![create("new"), add("new", None, 0)], &quiet()).await;
    assert_eq!(problem(&report, 0), &Problem::Unknown(Unknown::Lost));
    assert_eq!(
        problem(&report, 1),
        &Problem::Skipped(SkipReason::CreateFailed(g("new")))
    );
}

#[tokio::test]
async fn an_interrupt_lets_the_call_in_flight_finish_and_starts_nothing_new() {
    let fake = Fake::new().group("g1", &[]);
    let gate = Arc::new(Notify::new());
    fake.fault(Call::Update, Fault::Gate(gate.clone()));
    let (stop, interrupt) = tokio::sync::watch::channel(false);
    let options = Options {
        parallelism: 1,
        interrupt: Some(interrupt),
        ..quiet()
    };
    let update = Change::UpdateGroup {
        group: g("g1"),
        group_id: AccessGroupId::new("AccessGroupId-g1"),
        description: "new".into(),
        old_description: "old".into(),
    };
    let changes = vec![update, add_to("g1", 0), invite(1, &["g1"])];
    let applying = run(&fake, changes, &options);
    let interrupting = async {
        until_logged(&fake, "update AccessGroupId-g1").await;
        let _ = stop.send(true);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
    };
    let (report, ()) = tokio::join!(applying, interrupting);
    use Status::*;
    assert_eq!(statuses(&report), [Applied, Skipped, Skipped]);
    assert_eq!(
        problem(&report, 1),
        &Problem::Skipped(SkipReason::Interrupted)
    );
    assert_eq!(fake.log(), ["update AccessGroupId-g1"]);
    assert_eq!(
        report.render_text(false).lines().nth(1),
        Some(
            "skipped  add_member a0@x.org (IBMid-A0) to g1: not started: the apply was interrupted; run apply again to finish"
        )
    );
}

#[tokio::test]
async fn a_207_fails_only_the_members_ibm_refused_or_left_out() {
    let fake = Fake::new().group("g1", &[]);
    fake.refuse("IBMid-A1");
    fake.omit("IBMid-A2");
    let changes = (0..3).map(|n| add_to("g1", n)).collect();
    let report = run(&fake, changes, &quiet()).await;
    use Status::*;
    assert_eq!(statuses(&report), [Applied, Failed, Failed]);
    let Problem::Api(info) = problem(&report, 1) else {
        panic!("IBM's per-member error")
    };
    assert_eq!(
        (info.status, info.code.as_deref()),
        (Some(400), Some("refused"))
    );
    assert_eq!(
        problem(&report, 2),
        &Problem::Unknown(Unknown::NotMentioned("IBMid-A2".into()))
    );
    assert_eq!(fake.log().len(), 1, "one call for the three");
}

#[tokio::test]
async fn an_invite_whose_answer_was_lost_is_found_by_re_reading_not_sent_again() {
    let fake = Fake::new();
    fake.fault(Call::Invite, Fault::Unavailable { landed: true });
    let report = run(&fake, vec![invite(0, &[])], &quiet()).await;
    assert_eq!(statuses(&report), [Status::Applied]);
    assert_eq!(fake.log(), ["invite i0@x.org", "pause 1", "list_users"]);
    assert_eq!(fake.emails(), ["i0@x.org"]);
}

#[tokio::test]
async fn an_invite_refused_409_for_one_email_is_resent_only_for_the_others() {
    // i1's invitation is still processing: IBM blocks the whole batch with 409.
    let fake = Fake::new().user("i1@x.org", "IBMid-I1", UserState::Processing);
    let changes = (0..3).map(|n| invite(n, &[])).collect();
    let report = run(&fake, changes, &quiet()).await;
    assert!(!report.has_failures(), "{:?}", statuses(&report));
    assert_eq!(
        fake.log(),
        [
            "invite i0@x.org,i1@x.org,i2@x.org",
            "pause 1",
            "list_users",
            "invite i0@x.org,i2@x.org"
        ]
    );
}

#[tokio::test]
async fn a_group_create_that_did_not_land_is_sent_again_only_after_looking() {
    let fake = Fake::new();
    fake.fault(Call::CreateGroup, Fault::Unavailable { landed: false });
    let report = run(&fake, vec![create("new"), add("new", None, 0)], &quiet()).await;
    assert!(!report.has_failures(), "{:?}", statuses(&report));
    assert_eq!(
        fake.log(),
        [
            "create_group new",
            "pause 1",
            "list_groups",
            "create_group new",
            "add AccessGroupId-new 1"
        ]
    );
    assert_eq!(
        report.entries[0].transaction_id.as_deref(),
        Some("tx-create-new")
    );
}

#[tokio::test]
async fn a_group_create_whose_answer_was_lost_is_found_with_its_id() {
    let fake = Fake::new();
    fake.fault(Call::CreateGroup, Fault::Timeout);
    let report = run(&fake, vec![create("new"), add("new", None, 0)], &quiet()).await;
    assert!(!report.has_failures(), "{:?}", statuses(&report));
    assert_eq!(
        fake.log(),
        [
            "create_group new",
            "pause 1",
            "list_groups",
            "add AccessGroupId-new 1"
        ]
    );
    // Found, not answered: no transaction id to name.
    assert_eq!(report.entries[0].transaction_id, None);
}

#[tokio::test]
async fn a_group_name_taken_before_the_apply_is_a_failure_without_a_re_read() {
    let fake = Fake::new().group("new", &[]);
    let report = run(&fake, vec![create("new")], &quiet()).await;
    assert!(matches!(problem(&report, 0), Problem::Api(info) if info.status == Some(409)));
    assert_eq!(fake.log(), ["create_group new"]);
}

#[tokio::test]
async fn a_lost_answer_whose_re_read_fails_too_is_reported_as_unknown() {
    let fake = Fake::new();
    fake.fault(Call::Invite, Fault::Timeout);
    fake.fault(Call::ListUsers, Fault::Status(500));
    let report = run(&fake, vec![invite(0, &[])], &quiet()).await;
    let Problem::Unknown(Unknown::Unsettled { write, read, .. }) = problem(&report, 0) else {
        panic!("{:?}", problem(&report, 0))
    };
    assert_eq!((*write, *read), ("the invitation", "the users"));
    let text = problem(&report, 0).to_string();
    assert!(
        text.starts_with("the invitation may or may not have landed (")
            && text.ends_with("); run plan to see"),
        "{text}"
    );
    // Rendered like an IBM error without a status, as before.
    let info = problem(&report, 0).info();
    assert_eq!((info.status, info.message), (None, text));
}

#[tokio::test]
async fn rounds_of_a_write_are_bounded_by_the_clients_attempts() {
    let fake = Fake::new().max_attempts(3);
    for _ in 0..5 {
        fake.fault(Call::Invite, Fault::Unavailable { landed: false });
    }
    let report = run(&fake, vec![invite(0, &[])], &quiet()).await;
    assert!(matches!(problem(&report, 0), Problem::Api(info) if info.status == Some(503)));
    let log = fake.log();
    let count = |line: &str| log.iter().filter(|l| l.as_str() == line).count();
    assert_eq!((count("invite i0@x.org"), count("list_users")), (3, 3));
    assert!(fake.emails().is_empty());
}

#[tokio::test]
async fn an_add_ibm_answered_but_did_not_make_fails_verification() {
    let fake = Fake::new().group("g1", &[]);
    fake.swallow("IBMid-A1");
    let changes = (0..2).map(|n| add_to("g1", n)).collect();
    let report = run(&fake, changes, &Options::default()).await;
    use Status::*;
    assert_eq!(statuses(&report), [Applied, Failed]);
    assert_eq!(
        problem(&report, 1),
        &Problem::NotInEffect(Discrepancy::NotAdded {
            group: g("g1"),
            iam_id: IamId::new("IBMid-A1"),
        })
    );
    assert_eq!(
        problem(&report, 1).to_string(),
        "did not take effect: IBMid-A1 is not a member of g1 after the add"
    );
    // Verification read the group once, and no users (nobody was invited or removed).
    assert_eq!(
        fake.log()[1..],
        ["list_members AccessGroupId-g1".to_string()]
    );
}

#[tokio::test]
async fn the_audit_log_gets_a_line_per_executed_change_with_its_final_outcome() {
    let fake = Fake::new().group("g1", &[]);
    fake.fault(Call::CreateGroup, Fault::Status(400));
    fake.swallow("IBMid-A1");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&path, Some("PR 7".into())).expect("opens");
    let actor = IamId::new("IBMid-ME");
    let changes = vec![create("new"), add("new", None, 0), add_to("g1", 1)];
    let report = apply(
        &plan(changes),
        &account(),
        &fake.ids(),
        &fake,
        &Options::default(),
        Some(log.for_apply(&account(), &actor)),
    )
    .await;
    log.finish().expect("written");
    let text = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    // The skipped add has no line; the add IBM answered for is logged applied as it
    // completes, then failed by verification in a second line.
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["action"], "create_group");
    assert_eq!(lines[0]["event"], "executed");
    assert_eq!(lines[0]["error"]["status"], 400);
    assert_eq!(lines[0]["transaction_id"], "tx-400");
    assert_eq!(
        (&lines[1]["event"], &lines[1]["result"]),
        (&"executed".into(), &"applied".into())
    );
    assert_eq!(lines[1]["change"], lines[2]["change"]);
    assert_eq!(
        (&lines[2]["event"], &lines[2]["result"]),
        (&"verified".into(), &"failed".into())
    );
    assert_eq!(
        lines[2]["error"]["message"],
        problem(&report, 2).to_string().as_str()
    );
    assert_eq!(
        lines[2]["transaction_id"]
            .as_str()
            .map(|t| t.starts_with("tx-add-")),
        Some(true)
    );
    assert_eq!(
        (&lines[2]["actor"], &lines[2]["note"]),
        (&"IBMid-ME".into(), &"PR 7".into())
    );
}

#[tokio::test]
async fn each_audit_line_is_on_disk_as_soon_as_its_change_completes() {
    // A change still in flight (held at a gate) while an earlier one completed: the
    // earlier one's line is in the file already, before the apply ends.
    let fake = Fake::new().group("g1", &[]).group("g2", &[]);
    let gate = Arc::new(Notify::new());
    fake.fault(Call::Remove, Fault::Gate(gate.clone()));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&path, None).expect("opens");
    let actor = IamId::new("IBMid-ME");
    let changes = vec![add_to("g1", 1), remove("g2", 2)];
    let apply = {
        let fake = fake.clone();
        async move {
            let acct = account();
            let audit = Some(log.for_apply(&acct, &actor));
            apply(&plan(changes), &acct, &fake.ids(), &fake, &quiet(), audit).await;
            log.finish().expect("written");
        }
    };
    let watch = async {
        until_logged(&fake, "remove AccessGroupId-g2 1").await;
        for _ in 0..1_000 {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains("add_member") {
                assert_eq!(text.lines().count(), 1, "{text}");
                gate.notify_one();
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the completed add was not logged while the removal ran");
    };
    tokio::join!(apply, watch);
    assert_eq!(
        std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .count(),
        2
    );
}
