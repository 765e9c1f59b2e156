//! What a file written from an account says, decided from the planner's index: matched by
//! variant here; the YAML it becomes is `config::export`'s to test.

use super::*;
use crate::plan::export::{
    AccessNote, ChooseError, Contents, Description, FileFormat, RuleNote, SkippedGroup,
    UndeclaredRole, Unlistable, UnlistableReason, User, choose_groups, contents,
};

/// A stand-in for the config format's rules: emails need an `@`, short limits, role
/// names without `X`, rules with a realm.
pub(super) const FORMAT: FileFormat = FileFormat {
    max_group_name_chars: 12,
    max_description_chars: 10,
    group_name_problem: |_| None,
    email_problem: |email| (!email.contains('@')).then_some("no `@`"),
    role_problem: |role| (role.name.as_str().contains('X')).then(|| "an X in the name".into()),
    rule_problem: |rule| rule.realm.is_empty().then(|| "no realm".into()),
};

pub(super) fn export_all(live: &Live) -> Contents {
    let chosen = choose_groups(&live.0.groups, None).expect("every group");
    contents(&live.0, &chosen, &FORMAT)
}

/// The desired state a file with these contents validates to: what `config` reads back
/// from the YAML `config::export` writes (that side is `config::export`'s to test).
pub(super) fn desired_of(contents: &Contents) -> DesiredState {
    let mut d = desired();
    for group in &contents.groups {
        let declared = DesiredGroup {
            name: group.name.clone(),
            description: match &group.description {
                Description::Written(text) => Some(text.clone()),
                Description::Empty | Description::TooLong => None,
            },
            access: group.access.clone(),
            rules: group.rules.clone(),
        };
        d.0.groups.insert(group.name.clone(), declared);
    }
    for user in &contents.users {
        d.0.users.insert(
            user.email.clone(),
            DesiredUser {
                email: user.email.clone(),
                groups: user.groups.iter().cloned().collect(),
                expires: None,
            },
        );
    }
    for role in &contents.roles {
        d.0.roles.insert(role.name.clone(), role.clone());
    }
    d.0
}

fn unlistable(
    iam_id: &str,
    email: Option<&str>,
    reason: UnlistableReason,
    groups: &[&str],
) -> Unlistable {
    Unlistable {
        iam_id: IamId::new(iam_id),
        email: email.map(Email::new),
        reason,
        groups: groups.iter().map(|g| GroupName::new(*g)).collect(),
    }
}

#[test]
fn every_user_is_listed_with_their_groups_and_the_rest_named_with_the_reason() {
    let l = live()
        .user("bob@example.com")
        .user_in("alice@example.com", UserState::Pending)
        .user_in("failed@example.com", UserState::ErrorWhileProcessing)
        .user("nobody@example.com")
        .user("not-an-email")
        .described("quantum", "Research")
        .group("chemistry")
        .member("quantum", "bob@example.com")
        .member("quantum", "alice@example.com")
        .member("quantum", "failed@example.com")
        .member_id("quantum", "IBMid-ghost", "user")
        .member_id("quantum", "iam-ServiceId-robot", "service")
        .member("chemistry", "alice@example.com")
        .member_id("chemistry", "IBMid-ghost", "user");
    let c = export_all(&l);
    let entry = |email: &str, state: UserState, groups: &[&str]| User {
        email: Email::new(email),
        state,
        groups: groups.iter().map(|g| GroupName::new(*g)).collect(),
    };
    assert_eq!(
        c.users,
        vec![
            entry(
                "alice@example.com",
                UserState::Pending,
                &["chemistry", "quantum"]
            ),
            entry("bob@example.com", UserState::Active, &["quantum"]),
            entry("nobody@example.com", UserState::Active, &[]),
        ]
    );
    assert_eq!(
        c.unlistable,
        vec![
            unlistable(
                "IBMid-failed",
                Some("failed@example.com"),
                UnlistableReason::FailedInvitation,
                &["quantum"]
            ),
            unlistable(
                "IBMid-ghost",
                None,
                UnlistableReason::UnknownToUserManagement,
                &["chemistry", "quantum"]
            ),
            unlistable(
                "IBMid-not-an-email",
                Some("not-an-email"),
                UnlistableReason::InvalidEmail("no `@`"),
                &[]
            ),
        ]
    );
    let quantum = &c.groups[1];
    assert_eq!(quantum.name, GroupName::new("quantum"));
    assert_eq!(quantum.description, Description::Written("Research".into()));
    assert_eq!(quantum.unknown, vec![IamId::new("IBMid-ghost")]);
    assert_eq!(quantum.unmanaged.len(), 1);
    assert_eq!(c.groups[0].description, Description::Empty);
    assert_eq!((c.users_in_groups(), c.unmanaged_members()), (2, 1));
    assert_eq!(
        c.unlistable_members()
            .into_iter()
            .map(IamId::as_str)
            .collect::<Vec<_>>(),
        ["IBMid-failed", "IBMid-ghost"]
    );
}

#[test]
fn the_entry_the_planner_takes_for_an_email_is_listed_and_the_other_named() {
    // Two account entries of one email: the ACTIVE one stands for bob, as in the planner.
    let mut l = live()
        .user_in("bob@example.com", UserState::Pending)
        .group("quantum")
        .group("chemistry")
        .member("chemistry", "bob@example.com");
    l.0.users.push(LiveUser {
        iam_id: IamId::new("IBMid-bob-active"),
        email: Email::new("bob@example.com"),
        state: UserState::Active,
        added_on: None,
    });
    let l = l
        .member_id("quantum", "IBMid-bob-active", "user")
        .member_id("chemistry", "IBMid-bob-active", "user");
    let c = export_all(&l);
    assert_eq!(c.users.len(), 1);
    assert_eq!(
        c.users[0].groups,
        vec![GroupName::new("chemistry"), GroupName::new("quantum")]
    );
    assert_eq!(
        c.unlistable,
        vec![unlistable(
            "IBMid-bob",
            Some("bob@example.com"),
            UnlistableReason::DuplicateEmail,
            &[], // its one membership is one the listed entry has too
        )]
    );
}

#[test]
fn a_duplicate_entrys_memberships_are_weighed_against_the_listed_ones_static_groups() {
    // bob's ACTIVE entry is in quantum only by a rule; the PENDING entry is a static
    // member there. The planner removes that static membership (the rule's is not the
    // file's), so the export must name it; a dynamic one of the duplicate it never names.
    let mut l = live()
        .user_in("bob@example.com", UserState::Pending)
        .group("quantum")
        .group("chemistry")
        .member("quantum", "bob@example.com")
        .dynamic_member("chemistry", "bob@example.com");
    l.0.users.push(LiveUser {
        iam_id: IamId::new("IBMid-bob-active"),
        email: Email::new("bob@example.com"),
        state: UserState::Active,
        added_on: None,
    });
    let quantum = (l.0.groups.iter_mut())
        .find(|g| g.name.as_str() == "quantum")
        .expect("quantum");
    quantum
        .members
        .get_or_insert_with(Vec::new)
        .push(LiveMember {
            iam_id: IamId::new("IBMid-bob-active"),
            kind: MemberKind::User,
            membership: Membership::Dynamic,
        });
    let c = export_all(&l);
    assert_eq!(c.users.len(), 1);
    assert_eq!(c.users[0].groups, Vec::<GroupName>::new());
    assert_eq!(
        c.unlistable,
        vec![unlistable(
            "IBMid-bob",
            Some("bob@example.com"),
            UnlistableReason::DuplicateEmail,
            &["quantum"],
        )]
    );
    // What the export names is exactly what planning it removes.
    let p = plan_of(&Desired(desired_of(&c)), &l);
    assert_eq!(
        lines(&p),
        ["remove_member bob@example.com (IBMid-bob) from quantum"]
    );
}

#[test]
fn what_the_format_cannot_hold_is_left_to_comments() {
    let l = live()
        .described("described", "more than ten characters")
        .group("a-name-too-long-for-the-format");
    let c = export_all(&l);
    assert_eq!(c.groups.len(), 1);
    assert_eq!(c.groups[0].description, Description::TooLong);
    assert_eq!(
        c.skipped,
        vec![SkippedGroup {
            name: GroupName::new("a-name-too-long-for-the-format"),
            id: group_id("a-name-too-long-for-the-format"),
        }]
    );
}

#[test]
fn of_several_groups_with_one_name_the_one_the_planner_manages_is_exported() {
    let mut l = live().user("ann@example.com").group("quantum");
    l.0.groups.push(LiveGroup {
        id: AccessGroupId::new("AccessGroupId-0-older"),
        name: GroupName::new("Quantum"),
        description: String::new(),
        members: Some(vec![LiveMember {
            iam_id: iam("ann@example.com"),
            kind: MemberKind::User,
            membership: Default::default(),
        }]),
        policies: None,
        rules: None,
    });
    let c = export_all(&l);
    assert_eq!(c.groups.len(), 1);
    assert_eq!(
        c.groups[0].name.as_str(),
        "Quantum",
        "the smallest id's spelling"
    );
    assert_eq!(c.users[0].groups, vec![GroupName::new("Quantum")]);
}

#[test]
fn unknown_group_names_are_refused_listing_the_available_ones() {
    let l = live()
        .group("quantum")
        .group("chemistry")
        .unread_group("finance");
    let groups = &l.0.groups;
    let err = choose_groups(groups, Some(&["quantum".into(), "physics".into()])).unwrap_err();
    assert_eq!(
        err,
        ChooseError::Unknown {
            unknown: vec!["physics".into()],
            available: ["chemistry", "finance", "quantum"]
                .map(GroupName::new)
                .to_vec(),
        }
    );
    assert_eq!(
        err.to_string(),
        "--groups names access group `physics` that the account does not have (names are \
         compared ignoring case); the account has: chemistry, finance, quantum. Fix \
         --groups, or use --all-groups"
    );
    let err = choose_groups(groups, Some(&["Public Access".into()])).unwrap_err();
    assert!(
        matches!(&err, ChooseError::NotExportable { name, .. } if name == "Public Access"),
        "{err}"
    );
    let err = choose_groups(groups, Some(&["".into()])).unwrap_err();
    assert!(matches!(err, ChooseError::NotExportable { .. }), "{err}");
    assert_eq!(
        choose_groups(groups, Some(&[" QUANTUM ".into()])),
        Ok(vec![GroupName::new("quantum")]),
        "matched ignoring case and spaces, spelled as the account spells it"
    );
}

// ---------------------------------------------------------------------------
// Access, rules and roles

/// The IBM example account with every policy and rule read, as export reads it.
fn everything_read() -> Live {
    let (_, l) = realistic_access();
    l.policies_read("finance")
        .policies_read("ml-readers")
        .live_rules("finance", Vec::new())
}

#[test]
fn policies_become_access_entries_instances_by_name_when_unique_else_by_guid() {
    let l = everything_read()
        .instance_with(QC, "QR-ml", "guid-qr-ml-twin")
        .resource_group("Default", "ffff0000ffff0000ffff0000ffff0000");
    let c = export_all(&l);
    let ml = c.groups.iter().find(|g| g.name.as_str() == "ml").unwrap();
    let access = ml.access.as_ref().expect("ml's policies were read");
    let shown: Vec<(Option<&InstanceRef>, Vec<&str>)> = access
        .iter()
        .map(|e| {
            (
                e.instance.as_ref(),
                e.roles.iter().map(RoleName::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                Some(&InstanceRef::Name("QR-common".into())),
                vec!["Reader", "Writer"]
            ),
            // Two instances are named QR-ml now: the file names this one by GUID.
            (
                Some(&InstanceRef::Guid(instance_guid("QR-ml"))),
                vec!["Reader", "Viewer"]
            ),
            (
                Some(&InstanceRef::Name("QR-old".into())),
                vec!["JobManager", "Viewer"]
            ),
        ]
    );
    assert_eq!(
        ml.access_notes,
        vec![AccessNote::Unexpressible {
            policy: PolicyId::new("policy-ml-4"),
            reason: "a time-based condition".into(),
        }]
    );
    // The custom role the policies grant is declared as the account defines it.
    assert_eq!(c.roles.len(), 1);
    assert_eq!(c.roles[0].name.as_str(), "JobManager");
    assert_eq!(c.roles[0].actions.len(), 4);
    // Groups whose policies were read but hold none: `access: []`.
    let readers = c
        .groups
        .iter()
        .find(|g| g.name.as_str() == "ml-readers")
        .unwrap();
    assert_eq!(readers.access, Some(Vec::new()));
    assert_eq!(readers.rules, Some(Vec::new()));
}

#[test]
fn a_group_whose_policies_were_not_read_is_written_without_access() {
    let (_, l) = realistic_access();
    let c = export_all(&l);
    let finance_like = c
        .groups
        .iter()
        .find(|g| g.name.as_str() == "ml-readers")
        .unwrap();
    assert_eq!(finance_like.access, None);
    assert!(finance_like.access_notes.is_empty());
}

#[test]
fn a_role_the_account_has_no_name_for_keeps_the_groups_access_out() {
    let odd = RoleCrn::new("crn:v1:bluemix:public:quantum-computing::::serviceRole:Odd");
    let l = live()
        .ibm_roles(QC)
        .instance(QC, "QR-ml")
        .group("ml")
        .policy(
            "ml",
            "p1",
            target(Some(QC), None, None),
            &[ibm_role("Reader")],
        )
        .policy(
            "ml",
            "p2",
            target(Some(QC), Some(&instance_guid("QR-ml")), None),
            &[ibm_role("Reader"), odd.clone()],
        );
    let ml = &export_all(&l).groups[0];
    assert_eq!(
        ml.access, None,
        "writing p1 alone would make the plan remove p2"
    );
    assert_eq!(
        ml.access_notes,
        vec![AccessNote::UnnamedRole {
            policy: PolicyId::new("p2"),
            role: odd,
        }]
    );
}

#[test]
fn a_custom_role_the_format_refuses_is_granted_by_name_but_not_declared() {
    let l = live()
        .ibm_roles(QC)
        .custom_role(
            "JobXManager",
            QC,
            "Jobs",
            "",
            &["quantum-computing.job.read"],
        )
        .group("ml")
        .policy(
            "ml",
            "p1",
            target(Some(QC), None, None),
            &[custom("JobXManager")],
        );
    let c = export_all(&l);
    assert!(c.roles.is_empty());
    assert_eq!(
        c.undeclared_roles,
        vec![UndeclaredRole {
            name: RoleName::new("JobXManager"),
            why: "an X in the name".into(),
        }]
    );
    assert!(c.groups[0].access.is_some());
    assert!(plan_of(&Desired(desired_of(&c)), &l).is_empty());
}

#[test]
fn rules_the_file_cannot_name_keep_the_groups_rules_out() {
    let named = rule(
        "ml-project",
        vec![condition("project", RuleOperator::Contains, "ml")],
    );
    let l = live().group("ml").live_rules(
        "ml",
        vec![
            live_rule("r1", &named),
            live_rule("r2", &rule("", named.conditions.clone())),
        ],
    );
    let ml = &export_all(&l).groups[0];
    assert_eq!(ml.rules, None);
    assert_eq!(
        ml.rule_notes,
        vec![RuleNote::Unnamed {
            rule: RuleId::new("r2")
        }]
    );
    // A rule with a condition orgsync cannot read would be written short of it.
    let unreadable = LiveRule {
        unreadable_conditions: 1,
        ..live_rule("r1", &named)
    };
    let l = live().group("ml").live_rules("ml", vec![unreadable]);
    let ml = &export_all(&l).groups[0];
    assert_eq!(ml.rules, None);
    assert!(
        matches!(&ml.rule_notes[..], [RuleNote::Refused { name, .. }] if name == "ml-project"),
        "{:?}",
        ml.rule_notes
    );
    let l = live()
        .group("ml")
        .live_rules("ml", vec![live_rule("r1", &named)]);
    assert_eq!(export_all(&l).groups[0].rules, Some(vec![named]));
}

#[test]
fn planning_the_export_of_an_account_with_grants_and_rules_changes_nothing() {
    let l = everything_read();
    let c = export_all(&l);
    let p = plan_of(&Desired(desired_of(&c)), &l);
    // Only what the export names as unlistable: here, nothing.
    assert!(c.unlistable_members().is_empty());
    assert!(p.is_empty(), "{:?}", lines(&p));
}

#[test]
fn members_a_dynamic_rule_added_are_noted_not_listed_and_plan_to_nothing() {
    let l = live()
        .user("bob@example.com")
        .user("dyn@example.com")
        .group("ml")
        .member("ml", "bob@example.com")
        .dynamic_member("ml", "dyn@example.com")
        .dynamic_member("ml", "idp-only@example.com");
    let c = export_all(&l);
    let ml = &c.groups[0];
    assert_eq!(
        ml.dynamic,
        [iam("dyn@example.com"), iam("idp-only@example.com")]
    );
    // A rule's member is the rule's: neither an entry's group nor a removal to propose.
    assert!(ml.unknown.is_empty(), "{:?}", ml.unknown);
    assert!(c.unlistable.is_empty(), "{:?}", c.unlistable);
    let groups_of = |email: &str| {
        (c.users.iter())
            .find(|u| u.email.as_str() == email)
            .map(|u| u.groups.clone())
    };
    assert_eq!(
        groups_of("bob@example.com"),
        Some(vec![GroupName::new("ml")])
    );
    assert_eq!(groups_of("dyn@example.com"), Some(vec![]));
    let plan = plan_of(&Desired(desired_of(&c)), &l);
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
}
