//! What a file written from an account says, decided from the planner's index: matched by
//! variant here; the YAML it becomes is `config::export`'s to test.

use super::*;
use crate::plan::export::{
    ChooseError, Contents, Description, FileFormat, SkippedGroup, Unlistable, UnlistableReason,
    User, choose_groups, contents,
};

/// A stand-in for the config format's rules: emails need an `@`, short limits.
const FORMAT: FileFormat = FileFormat {
    max_group_name_chars: 12,
    max_description_chars: 10,
    group_name_problem: |_| None,
    email_problem: |email| (!email.contains('@')).then_some("no `@`"),
};

fn export_all(live: &Live) -> Contents {
    let chosen = choose_groups(&live.0.groups, None).expect("every group");
    contents(&live.0, &chosen, &FORMAT)
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
