//! One test per rule of docs/reconciliation.md.

use super::*;
use crate::model::{PUBLIC_ACCESS_GROUP_ID, PUBLIC_ACCESS_GROUP_NAME};
use crate::plan::{
    KeepReason, Moved, PlanError, Warning, Who, config_digest, live_digest, what_moved,
};

/// The builders' account user with this email, as warnings name them.
fn who(email: &str) -> Who {
    Who {
        email: Some(Email::new(email)),
        iam_id: iam(email),
    }
}

fn has_warning(plan: &Plan, warning: Warning) -> bool {
    plan.warnings.contains(&warning)
}

// ---------------------------------------------------------------------------
// Managed scope

#[test]
fn groups_the_file_does_not_declare_are_never_read_or_changed() {
    let d = desired().user("alice@example.com", &["quantum"]);
    let l = live()
        .user("alice@example.com")
        .group("quantum")
        .member("quantum", "alice@example.com")
        // Unmanaged: members unread (acquire never reads them)...
        .unread_group("billing")
        // ...and even when handed members, including strangers, they are not looked at.
        .group("research")
        .member_id("research", "IBMid-stranger", "user");
    let p = plan_of(&d, &l);
    assert!(p.is_empty(), "{:?}", lines(&p));
    assert!(p.rosters.is_empty());
}

#[test]
fn public_access_group_is_never_managed_even_if_the_live_state_carries_it() {
    let d = desired().user("alice@example.com", &[]);
    let mut l = live().user("alice@example.com");
    l.0.groups.push(LiveGroup {
        id: AccessGroupId::new(PUBLIC_ACCESS_GROUP_ID),
        name: GroupName::new(PUBLIC_ACCESS_GROUP_NAME),
        description: "everyone".into(),
        members: Some(vec![LiveMember {
            iam_id: IamId::new("IBMid-stranger"),
            kind: MemberKind::User,
            membership: Default::default(),
        }]),
        policies: None,
        rules: None,
    });
    let p = plan_of(&d, &l);
    assert!(p.is_empty(), "{:?}", lines(&p));
}

#[test]
fn groups_match_by_name_case_insensitively() {
    let d = desired().user("alice@example.com", &["Quantum-X"]);
    let l = live().user("alice@example.com").group("quantum-x");
    let p = plan_of(&d, &l);
    assert_eq!(
        p.changes,
        vec![Change::AddMember {
            group: GroupName::new("Quantum-X"),
            group_id: Some(group_id("quantum-x")),
            email: Email::new("alice@example.com"),
            iam_id: iam("alice@example.com"),
        }]
    );
}

#[test]
fn dropped_group_is_not_deleted_and_its_members_stay() {
    // The file no longer declares `old-project`: it becomes unmanaged, nothing is planned.
    let d = desired().user("alice@example.com", &["quantum"]);
    let l = live()
        .user("alice@example.com")
        .group("quantum")
        .member("quantum", "alice@example.com")
        .unread_group("old-project");
    assert!(plan_of(&d, &l).is_empty());
}

#[test]
fn members_of_a_managed_group_not_read_make_the_plan_fail() {
    let d = desired().group("quantum");
    let l = live().unread_group("quantum");
    let err = plan(&d.0, &l.0, &options()).expect_err("unread members are refused");
    assert!(matches!(err, PlanError::MembersNotRead { .. }));
    assert!(err.to_string().contains("`quantum`"), "{err}");
}

// ---------------------------------------------------------------------------
// Groups

#[test]
fn missing_group_is_created_with_its_description() {
    let d = desired()
        .described("quantum-chemistry", "Chemistry projects")
        .group("quantum-bare");
    let p = plan_of(&d, &live());
    assert_eq!(
        p.changes,
        vec![
            Change::CreateGroup {
                group: GroupName::new("quantum-bare"),
                description: None,
            },
            Change::CreateGroup {
                group: GroupName::new("quantum-chemistry"),
                description: Some("Chemistry projects".into()),
            },
        ]
    );
}

#[test]
fn missing_groups_fail_the_plan_naming_them_when_creation_is_off() {
    let d = desired()
        .group("alpha")
        .group("beta")
        .group("present")
        .no_group_creation();
    let l = live().group("present");
    let err = plan(&d.0, &l.0, &options()).expect_err("creation is off");
    assert_eq!(
        err,
        PlanError::MissingGroups {
            groups: vec![GroupName::new("alpha"), GroupName::new("beta")]
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("`alpha`, `beta`"), "{msg}");
    assert!(msg.contains("policy.create_groups"), "{msg}");
}

#[test]
fn differing_declared_description_is_updated() {
    let d = desired().described("quantum", "New text");
    let l = live().described("quantum", "Old text");
    assert_eq!(
        plan_of(&d, &l).changes,
        vec![Change::UpdateGroup {
            group: GroupName::new("quantum"),
            group_id: group_id("quantum"),
            description: "New text".into(),
            old_description: "Old text".into(),
        }]
    );
}

#[test]
fn description_the_file_does_not_declare_is_left_alone() {
    let d = desired().group("quantum");
    let l = live().described("quantum", "Whatever the console says");
    assert!(plan_of(&d, &l).is_empty());
}

// ---------------------------------------------------------------------------
// Invitations and additions

#[test]
fn listed_user_not_in_account_is_invited_with_sorted_groups() {
    let d = desired().user("Carol@Example.com", &["zeta", "Alpha", "beta"]);
    let l = live().group("zeta").group("Alpha").group("beta");
    assert_eq!(
        plan_of(&d, &l).changes,
        vec![Change::InviteUser {
            email: Email::new("carol@example.com"),
            groups: vec![
                GroupName::new("Alpha"),
                GroupName::new("beta"),
                GroupName::new("zeta")
            ],
            replaces_iam_id: None,
            other_groups: Vec::new(),
        }]
    );
}

#[test]
fn pending_invite_is_not_invited_again() {
    for state in [UserState::Pending, UserState::Processing, UserState::Active] {
        let d = desired().user("carol@example.com", &["quantum"]);
        let l = live()
            .user_in("carol@example.com", state.clone())
            .group("quantum")
            .member("quantum", "carol@example.com");
        let p = plan_of(&d, &l);
        assert!(p.is_empty(), "{state}: {:?}", lines(&p));
    }
}

#[test]
fn missing_membership_is_added_also_for_pending_and_processing_users() {
    let d = desired()
        .user("pat@example.com", &["quantum"])
        .user("proc@example.com", &["quantum"]);
    let l = live()
        .user_in("pat@example.com", UserState::Pending)
        .user_in("proc@example.com", UserState::Processing)
        .group("quantum");
    assert_eq!(
        lines(&plan_of(&d, &l)),
        vec![
            "add_member pat@example.com (IBMid-pat) to quantum",
            "add_member proc@example.com (IBMid-proc) to quantum",
        ]
    );
}

#[test]
fn failed_invitation_is_invited_again_replacing_it() {
    let d = desired().user("dan@example.com", &["quantum"]);
    let l = live()
        .user_in("dan@example.com", UserState::ErrorWhileProcessing)
        .group("quantum")
        .group("other-managed");
    let d = d.group("other-managed");
    let l = l.member("other-managed", "dan@example.com");
    let p = plan_of(&d, &l);
    // One invitation carrying the groups; the failed entry's stray membership goes with
    // it, so no remove_member is planned for it.
    assert_eq!(
        p.changes,
        vec![Change::InviteUser {
            email: Email::new("dan@example.com"),
            groups: vec![GroupName::new("quantum")],
            replaces_iam_id: Some(iam("dan@example.com")),
            other_groups: Vec::new(),
        }]
    );
}

#[test]
fn failed_invitation_of_a_protected_user_or_the_caller_is_not_replaced() {
    // Replacing removes the failed entry from the account first: a removal.
    let d = desired()
        .user("boss@example.com", &["quantum"])
        .user("robot@example.com", &["quantum"])
        .group("legacy")
        .protect("boss@example.com");
    let l = live()
        .user_in("boss@example.com", UserState::ErrorWhileProcessing)
        .user_in("robot@example.com", UserState::ErrorWhileProcessing)
        .caller(iam("robot@example.com").as_str())
        .group("quantum")
        .group("legacy")
        .member("quantum", "boss@example.com")
        .member("legacy", "boss@example.com")
        .member("legacy", "robot@example.com");
    let p = plan_of(&d, &l);
    assert_eq!(
        lines(&p),
        vec!["add_member robot@example.com (IBMid-robot) to quantum"]
    );
    assert!(has_warning(
        &p,
        Warning::FailedInvitationKept {
            who: who("boss@example.com"),
            why: KeepReason::Protected
        }
    ));
    assert!(has_warning(
        &p,
        Warning::FailedInvitationKept {
            who: who("robot@example.com"),
            why: KeepReason::Caller
        }
    ));
}

#[test]
fn joins_of_a_group_being_created_ride_on_the_invite_and_add_member_has_no_group_id() {
    let d = desired()
        .user("new@example.com", &["fresh"])
        .user("old@example.com", &["fresh"]);
    let l = live().user("old@example.com");
    let p = plan_of(&d, &l);
    assert_eq!(
        p.changes,
        vec![
            Change::CreateGroup {
                group: GroupName::new("fresh"),
                description: None
            },
            Change::InviteUser {
                email: Email::new("new@example.com"),
                groups: vec![GroupName::new("fresh")],
                replaces_iam_id: None,
                other_groups: Vec::new(),
            },
            Change::AddMember {
                group: GroupName::new("fresh"),
                group_id: None,
                email: Email::new("old@example.com"),
                iam_id: iam("old@example.com"),
            },
        ]
    );
}

// ---------------------------------------------------------------------------
// Removals

#[test]
fn user_member_the_file_does_not_place_there_is_removed() {
    let d = desired()
        .user("alice@example.com", &["quantum"])
        .group("hardware");
    let l = live()
        .user("alice@example.com")
        .user("zed@example.com")
        .group("quantum")
        .group("hardware")
        .member("quantum", "alice@example.com")
        .member("hardware", "alice@example.com") // listed, but not placed in hardware
        .member("quantum", "zed@example.com") // unlisted
        .member_id("quantum", "IBMid-ghost", "user"); // unknown to User Management
    let p = plan_of(&d, &l);
    assert_eq!(
        p.changes,
        vec![
            Change::RemoveMember {
                group: GroupName::new("hardware"),
                group_id: group_id("hardware"),
                email: Some(Email::new("alice@example.com")),
                iam_id: iam("alice@example.com"),
            },
            Change::RemoveMember {
                group: GroupName::new("quantum"),
                group_id: group_id("quantum"),
                email: Some(Email::new("zed@example.com")),
                iam_id: iam("zed@example.com"),
            },
            Change::RemoveMember {
                group: GroupName::new("quantum"),
                group_id: group_id("quantum"),
                email: None,
                iam_id: IamId::new("IBMid-ghost"),
            },
        ]
    );
    assert_eq!(p.removals(), 3);
    // zed stays in the account (policy ignore) and is counted.
    assert_eq!(p.unmanaged.users, 1);
}

#[test]
fn service_ids_and_profiles_are_left_alone_and_reported_as_unmanaged_members() {
    let d = desired().group("quantum");
    let l = live()
        .group("quantum")
        .member_id("quantum", "iam-ServiceId-bot", "service")
        .member_id("quantum", "iam-Profile-runner", "profile")
        .member_id("quantum", "iam-Thing-x", "something-new");
    let p = plan_of(&d, &l);
    assert!(p.is_empty(), "{:?}", lines(&p));
    let reported: Vec<(&str, &str)> = p
        .unmanaged
        .members
        .iter()
        .map(|m| (m.iam_id.as_str(), m.kind.as_str()))
        .collect();
    assert_eq!(
        reported,
        vec![
            ("iam-Profile-runner", "profile"),
            ("iam-ServiceId-bot", "service"),
            ("iam-Thing-x", "something-new"),
        ]
    );
}

#[test]
fn unlisted_users_are_removed_from_the_account_with_the_groups_they_leave() {
    let d = desired()
        .group("quantum")
        .group("hardware")
        .remove_unlisted();
    let l = live()
        .user("eve@example.com")
        .user_in("pend@example.com", UserState::Pending)
        .group("quantum")
        .group("hardware")
        .unread_group("unmanaged")
        .member("quantum", "eve@example.com")
        .member("hardware", "eve@example.com");
    let p = plan_of(&d, &l);
    // No separate remove_member for them.
    assert_eq!(
        lines(&p),
        vec![
            "remove_user eve@example.com (IBMid-eve) leaving hardware, quantum",
            "remove_user pend@example.com (IBMid-pend)",
        ]
    );
    assert_eq!(p.removals(), 2);
    assert_eq!(p.unmanaged.users, 0);
}

#[test]
fn unlisted_users_are_kept_and_counted_when_policy_ignores_them() {
    let d = desired().user("alice@example.com", &[]);
    let l = live()
        .user("alice@example.com")
        .user("x@example.com")
        .user_in("y@example.com", UserState::Pending)
        .user_in("z@example.com", UserState::ErrorWhileProcessing);
    let p = plan_of(&d, &l);
    assert!(p.is_empty());
    assert_eq!(p.unmanaged.users, 3);
}

#[test]
fn protected_user_is_never_removed_and_the_plan_warns_instead() {
    let d = desired()
        .user("boss@example.com", &["quantum"])
        .group("hardware")
        .protect("boss@example.com")
        .protect("owner@example.com")
        .remove_unlisted();
    let l = live()
        .user("boss@example.com")
        .user("owner@example.com")
        .group("quantum")
        .group("hardware")
        .member("quantum", "boss@example.com")
        .member("hardware", "boss@example.com")
        .member("hardware", "owner@example.com");
    let p = plan_of(&d, &l);
    assert!(p.is_empty(), "{:?}", lines(&p));
    assert!(has_warning(
        &p,
        Warning::MemberKept {
            who: who("boss@example.com"),
            why: KeepReason::Protected,
            group: GroupName::new("hardware"),
        }
    ));
    assert!(has_warning(
        &p,
        Warning::UnlistedUserKept {
            who: who("owner@example.com"),
            why: KeepReason::Protected,
        }
    ));
    // The protected unlisted user stays, so counts as unmanaged.
    assert_eq!(p.unmanaged.users, 1);
}

#[test]
fn identity_orgsync_runs_as_is_never_removed_from_a_group_or_the_account() {
    let d = desired().group("quantum").remove_unlisted();
    let l = live()
        .user("robot@example.com")
        .group("quantum")
        .member("quantum", "robot@example.com")
        .caller(iam("robot@example.com").as_str());
    let p = plan_of(&d, &l);
    assert!(p.is_empty(), "{:?}", lines(&p));
    assert!(has_warning(
        &p,
        Warning::UnlistedUserKept {
            who: who("robot@example.com"),
            why: KeepReason::Caller,
        }
    ));

    // Under `ignore`, its stray membership is not removed either.
    let d = desired().group("quantum");
    let p = plan_of(&d, &l);
    assert!(p.is_empty(), "{:?}", lines(&p));
    assert!(has_warning(
        &p,
        Warning::MemberKept {
            who: who("robot@example.com"),
            why: KeepReason::Caller,
            group: GroupName::new("quantum"),
        }
    ));
}

#[test]
fn caller_service_id_in_a_managed_group_is_an_unmanaged_member() {
    let d = desired().group("quantum");
    let l = live()
        .group("quantum")
        .member_id("quantum", CALLER, "service");
    let p = plan_of(&d, &l);
    assert!(p.is_empty());
    assert_eq!(p.unmanaged.members.len(), 1);
}

// ---------------------------------------------------------------------------
// Expiry

#[test]
fn user_whose_entry_expires_today_is_treated_as_unlisted() {
    let d = desired().expiring("bob@example.com", &["quantum"], today());
    let l = live()
        .user("bob@example.com")
        .group("quantum")
        .member("quantum", "bob@example.com");
    let p = plan_of(&d, &l);
    assert_eq!(
        lines(&p),
        vec!["remove_member bob@example.com (IBMid-bob) from quantum"]
    );
    assert!(has_warning(
        &p,
        Warning::EntryExpired {
            email: Email::new("bob@example.com"),
            expires: today(),
        }
    ));
    assert_eq!(p.unmanaged.users, 1);

    let p = plan_of(&d.remove_unlisted(), &l);
    assert_eq!(
        lines(&p),
        vec!["remove_user bob@example.com (IBMid-bob) leaving quantum"]
    );
}

#[test]
fn expired_user_not_in_the_account_is_not_invited() {
    let d = desired().expiring("gone@example.com", &["quantum"], day(-10));
    let l = live().group("quantum");
    let p = plan_of(&d, &l);
    assert!(p.is_empty());
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn expired_protected_user_stays_with_a_warning() {
    let d = desired()
        .expiring("boss@example.com", &["quantum"], day(-1))
        .protect("boss@example.com");
    let l = live()
        .user("boss@example.com")
        .group("quantum")
        .member("quantum", "boss@example.com");
    let kept_in_group = Warning::MemberKept {
        who: who("boss@example.com"),
        why: KeepReason::Protected,
        group: GroupName::new("quantum"),
    };
    let kept_in_account = Warning::UnlistedUserKept {
        who: who("boss@example.com"),
        why: KeepReason::Protected,
    };
    for (d, kept) in [
        (d.0.clone(), kept_in_group),
        (d.remove_unlisted().0, kept_in_account),
    ] {
        let p = plan(&d, &l.0, &options()).expect("plans");
        assert!(p.is_empty(), "{:?}", lines(&p));
        assert!(p.warnings.contains(&kept), "{:?}", p.warnings);
    }
}

#[test]
fn entry_expiring_within_fourteen_days_is_warned_about() {
    let d = desired()
        .expiring("soon@example.com", &["quantum"], day(14))
        .expiring("later@example.com", &["quantum"], day(15))
        .expiring("tomorrow@example.com", &["quantum"], day(1));
    let l = live()
        .user("soon@example.com")
        .user("later@example.com")
        .user("tomorrow@example.com")
        .group("quantum")
        .member("quantum", "soon@example.com")
        .member("quantum", "later@example.com")
        .member("quantum", "tomorrow@example.com");
    let p = plan_of(&d, &l);
    assert!(p.is_empty());
    assert_eq!(
        p.warnings,
        vec![
            Warning::EntryExpiring {
                email: Email::new("soon@example.com"),
                expires: day(14),
                days_left: 14,
            },
            Warning::EntryExpiring {
                email: Email::new("tomorrow@example.com"),
                expires: day(1),
                days_left: 1,
            },
        ]
    );
}

// ---------------------------------------------------------------------------
// Warnings about live states

#[test]
fn listed_users_in_troubled_states_are_warned_about() {
    let d = desired()
        .user("sus@example.com", &[])
        .user("bad@example.com", &[])
        .user("fine@example.com", &[]);
    let l = live()
        .user_in("sus@example.com", UserState::Suspended)
        .user_in("bad@example.com", UserState::IamIdInvalid)
        .user("fine@example.com");
    let p = plan_of(&d, &l);
    assert!(p.is_empty());
    assert_eq!(
        p.warnings,
        vec![
            Warning::UnusualState {
                email: Email::new("bad@example.com"),
                state: UserState::IamIdInvalid,
            },
            Warning::Suspended {
                email: Email::new("sus@example.com"),
            },
        ]
    );
}

#[test]
fn pending_invitation_older_than_thirty_days_is_warned_about() {
    let d = desired()
        .user("old@example.com", &[])
        .user("edge@example.com", &[]);
    let l = live()
        .user_since("old@example.com", UserState::Pending, day(-31))
        .user_since("edge@example.com", UserState::Pending, day(-30));
    let p = plan_of(&d, &l);
    assert!(p.is_empty());
    assert_eq!(
        p.warnings,
        vec![Warning::StaleInvitation {
            email: Email::new("old@example.com"),
            since: day(-31),
            days: 31,
        }]
    );
}

#[test]
fn several_live_groups_of_a_declared_name_are_warned_about_and_the_first_is_managed() {
    let d = desired().user("alice@example.com", &["quantum"]);
    let mut l = live().user("alice@example.com").group("quantum");
    l.0.groups.push(LiveGroup {
        id: AccessGroupId::new("AccessGroupId-0-older"),
        name: GroupName::new("Quantum"),
        description: String::new(),
        members: Some(Vec::new()),
        policies: None,
        rules: None,
    });
    let p = plan_of(&d, &l);
    assert_eq!(
        p.warnings,
        vec![Warning::DuplicateGroups {
            name: GroupName::new("quantum"),
            ids: vec![
                AccessGroupId::new("AccessGroupId-0-older"),
                group_id("quantum")
            ],
        }]
    );
    assert_eq!(
        p.changes,
        vec![Change::AddMember {
            group: GroupName::new("quantum"),
            group_id: Some(AccessGroupId::new("AccessGroupId-0-older")),
            email: Email::new("alice@example.com"),
            iam_id: iam("alice@example.com"),
        }]
    );
}

#[test]
fn every_warning_reads_as_plans_have_always_shown_it() {
    let email = || Email::new("ann@example.com");
    let ghost = Who {
        email: None,
        iam_id: IamId::new("IBMid-ghost"),
    };
    let cases = [
        (
            Warning::DuplicateGroups {
                name: GroupName::new("Quantum"),
                ids: vec![
                    AccessGroupId::new("AccessGroupId-1"),
                    AccessGroupId::new("AccessGroupId-2"),
                ],
            },
            "the account has 2 access groups named `Quantum` (AccessGroupId-1, AccessGroupId-2); orgsync manages only the first; rename or delete the others in the console",
        ),
        (
            Warning::EntryExpired {
                email: email(),
                expires: day(-1),
            },
            "ann@example.com: the entry expired on 2026-05-31, so orgsync treats them as unlisted; delete the entry from the file once they are gone",
        ),
        (
            Warning::EntryExpiring {
                email: email(),
                expires: day(1),
                days_left: 1,
            },
            "ann@example.com: the entry expires on 2026-06-02 (in 1 day); from then on orgsync treats them as unlisted",
        ),
        (
            Warning::FailedInvitationKept {
                who: who("ann@example.com"),
                why: KeepReason::Protected,
            },
            "ann@example.com (IBMid-ann) is in state ERROR_WHILE_PROCESSING but is protected by policy.protected: not re-inviting, which would remove the failed entry first; fix the user in Manage → Access (IAM) → Users",
        ),
        (
            Warning::UnlistedUserKept {
                who: who("ann@example.com"),
                why: KeepReason::Caller,
            },
            "ann@example.com (IBMid-ann): the identity orgsync runs as: not removing them from the account, although the file does not list them",
        ),
        (
            Warning::MemberKept {
                who: ghost,
                why: KeepReason::Caller,
                group: GroupName::new("q"),
            },
            "IBMid-ghost: the identity orgsync runs as: not removing them from `q`, where the file does not place them",
        ),
        (
            Warning::StaleInvitation {
                email: email(),
                since: day(-31),
                days: 31,
            },
            "ann@example.com: the invitation has been pending since 2026-05-01 (31 days) and IBM invitations expire after 30 days; ask them to accept it, or remove the user in the console so orgsync invites them afresh",
        ),
        (
            Warning::Suspended { email: email() },
            "ann@example.com is SUSPENDED in the account: orgsync manages their groups, but they cannot use them until an administrator reactivates the user (Manage → Access (IAM) → Users)",
        ),
        (
            Warning::UnusualState {
                email: email(),
                state: UserState::VpnOnly,
            },
            "ann@example.com is in state VPN_ONLY in the account: their access may not work; check the user in Manage → Access (IAM) → Users",
        ),
    ];
    for (warning, text) in cases {
        assert_eq!(warning.to_string(), text);
    }
}

#[test]
fn a_saved_plan_carries_warnings_as_their_text_and_reads_them_back_as_that_text() {
    let (d, l) = realistic();
    let fresh = plan_of(&d, &l);
    assert!(!fresh.warnings.is_empty());
    let json = crate::plan::render_json(&fresh);
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    let texts: Vec<String> = fresh.warnings.iter().map(Warning::to_string).collect();
    assert_eq!(value["warnings"], serde_json::json!(texts));
    let saved = Plan::from_json(&json).expect("reads back");
    assert_eq!(
        saved.warnings,
        texts.into_iter().map(Warning::Saved).collect::<Vec<_>>()
    );
    assert_eq!(crate::plan::render_json(&saved), json);
}

// ---------------------------------------------------------------------------
// Order and determinism

#[test]
fn changes_are_ordered_by_kind_then_group_then_email() {
    let d = desired()
        .described("b-existing", "new")
        .group("a-new")
        .user("zoe@example.com", &["b-existing", "a-new"])
        .user("adam@example.com", &["b-existing", "a-new"])
        .user("invitee@example.com", &["a-new"])
        .user("another@example.com", &[])
        .remove_unlisted();
    let l = live()
        .user("zoe@example.com")
        .user("adam@example.com")
        .user("leaver@example.com")
        .described("b-existing", "old")
        .member("b-existing", "leaver@example.com")
        .member_id("b-existing", "IBMid-ghost", "user");
    assert_eq!(
        lines(&plan_of(&d, &l)),
        vec![
            "create_group a-new",
            "update_group b-existing description \"old\" -> \"new\"",
            "invite_user another@example.com",
            "invite_user invitee@example.com into a-new",
            "add_member adam@example.com (IBMid-adam) to a-new",
            "add_member zoe@example.com (IBMid-zoe) to a-new",
            "add_member adam@example.com (IBMid-adam) to b-existing",
            "add_member zoe@example.com (IBMid-zoe) to b-existing",
            "remove_member IBMid-ghost from b-existing",
            "remove_user leaver@example.com (IBMid-leaver) leaving b-existing",
        ]
    );
}

#[test]
fn duplicated_live_entries_plan_as_if_listed_once() {
    let (d, l) = realistic();
    let once = plan_of(&d, &l);
    let mut twice = l.0.clone();
    twice.users.extend(l.0.users.iter().cloned());
    twice.groups.extend(l.0.groups.iter().cloned());
    for g in &mut twice.groups {
        if let Some(ms) = &mut g.members {
            let copy = ms.clone();
            ms.extend(copy);
        }
    }
    let again = plan(&d.0, &twice, &options()).expect("plans");
    assert_eq!(again.changes, once.changes);
    assert_eq!(again.warnings, once.warnings);
    assert_eq!(again.unmanaged, once.unmanaged);
    assert_eq!(again.rosters, once.rosters);
    // Duplicates do not change what the live state is.
    assert_eq!(again.live_digest, once.live_digest);
}

#[test]
fn realistic_scenario_plans_every_action_kind() {
    let (d, l) = realistic();
    let p = plan_of(&d, &l);
    assert_eq!(
        lines(&p),
        vec![
            "create_group quantum-chemistry",
            "update_group quantum-algorithms description \"Algorithms\" -> \"Algorithms research\"",
            "invite_user carol@example.com into quantum-algorithms, quantum-chemistry",
            "invite_user dan@example.com into quantum-hardware (replacing failed invitation IBMid-dan)",
            "add_member alice@example.com (IBMid-alice) to quantum-chemistry",
            "add_member bob@example.com (IBMid-bob) to quantum-hardware",
            "remove_member alice@example.com (IBMid-alice) from quantum-hardware",
            "remove_member IBMid-ghost from quantum-hardware",
            "remove_user grace@example.com (IBMid-grace) leaving quantum-hardware",
            "remove_user mallory@example.com (IBMid-mallory) leaving quantum-hardware",
        ]
    );
    assert_eq!(p.summary.total, 10);
    assert_eq!(p.removals(), 4);
    assert_eq!(p.unmanaged.users, 1); // owner: protected, unlisted, stays
    assert_eq!(p.account_id.as_str(), ACCOUNT);
    assert_eq!(p.config_digest, config_digest(&d.0));
    assert_eq!(p.live_digest, live_digest(&l.0));
}

// ---------------------------------------------------------------------------
// Digests

fn is_sha256(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn config_digest_changes_with_meaning_only() {
    let base = desired().user("alice@example.com", &["quantum"]);
    let digest = config_digest(&base.0);
    assert!(is_sha256(&digest), "{digest}");
    // Case of an email is not meaning: the model normalizes it.
    let same = desired().user("ALICE@example.com", &["quantum"]);
    assert_eq!(config_digest(&same.0), digest);
    let moved = desired()
        .user("alice@example.com", &["quantum"])
        .group("other");
    assert_ne!(config_digest(&moved.0), digest);
    let policy = desired()
        .user("alice@example.com", &["quantum"])
        .remove_unlisted();
    assert_ne!(config_digest(&policy.0), digest);
}

#[test]
fn live_digest_ignores_order_but_not_content() {
    let (_, l) = realistic();
    let digest = live_digest(&l.0);
    assert!(is_sha256(&digest), "{digest}");
    let mut reordered = l.0.clone();
    reordered.users.reverse();
    reordered.groups.reverse();
    for g in &mut reordered.groups {
        if let Some(ms) = &mut g.members {
            ms.reverse();
        }
    }
    assert_eq!(live_digest(&reordered), digest);
    let mut changed = l.0.clone();
    changed.users.pop();
    assert_ne!(live_digest(&changed), digest);
    assert_ne!(
        live_digest(&l.clone_with_member("quantum-hardware", "IBMid-new")),
        digest
    );
}

impl Live {
    fn clone_with_member(&self, group: &str, iam_id: &str) -> LiveState {
        Live(self.0.clone()).member_id(group, iam_id, "user").0
    }
}

// ---------------------------------------------------------------------------
// Saved plans

#[test]
fn saved_plan_read_back_from_json_has_not_moved() {
    let (d, l) = realistic();
    let fresh = plan_of(&d, &l);
    let saved = Plan::from_json(&crate::plan::render_json(&fresh)).expect("reads back");
    assert!(saved.rosters.is_empty());
    assert_eq!(what_moved(&saved, &fresh), Vec::<Moved>::new());
}

#[test]
fn what_moved_names_new_and_vanished_changes() {
    let (d, l) = realistic();
    let saved = plan_of(&d, &l);
    // Since saving, someone added bob to quantum-hardware by hand (his add is no longer
    // needed), and a stranger appeared in quantum-algorithms.
    let l2 = Live(l.0.clone())
        .member("quantum-hardware", "bob@example.com")
        .member_id("quantum-algorithms", "IBMid-stranger", "user");
    let fresh = plan_of(&d, &l2);
    let moved = what_moved(&saved, &fresh);
    assert_eq!(
        moved,
        vec![
            Moved::New {
                change: Change::RemoveMember {
                    group: GroupName::new("quantum-algorithms"),
                    group_id: group_id("quantum-algorithms"),
                    email: None,
                    iam_id: IamId::new("IBMid-stranger"),
                },
                count: 1
            },
            Moved::Vanished {
                change: Change::AddMember {
                    group: GroupName::new("quantum-hardware"),
                    group_id: Some(group_id("quantum-hardware")),
                    email: Email::new("bob@example.com"),
                    iam_id: iam("bob@example.com"),
                },
                count: 1
            },
        ]
    );
    // As `apply` shows them.
    assert_eq!(
        moved.iter().map(Moved::to_string).collect::<Vec<_>>(),
        vec![
            "+ remove_member IBMid-stranger from quantum-algorithms (new since the plan was saved)",
            "- add_member bob@example.com (IBMid-bob) to quantum-hardware (no longer needed)",
        ]
    );
}

#[test]
fn what_moved_notices_a_reordered_plan_file() {
    let (d, l) = realistic();
    let fresh = plan_of(&d, &l);
    let mut saved = fresh.clone();
    saved.changes.reverse();
    assert_eq!(what_moved(&saved, &fresh), vec![Moved::Reordered]);
}

#[test]
fn what_moved_names_a_plan_saved_for_another_account() {
    let (d, l) = realistic();
    let fresh = plan_of(&d, &l);
    let mut saved = fresh.clone();
    saved.account_id = AccountId::new("ffffffffffffffffffffffffffffffff");
    assert_eq!(
        what_moved(&saved, &fresh),
        vec![Moved::Account {
            saved: AccountId::new("ffffffffffffffffffffffffffffffff"),
            fresh: AccountId::new(ACCOUNT),
        }]
    );
}
