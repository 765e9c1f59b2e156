//! One test per rule of docs/reconciliation.md about what a plan promises beyond the
//! managed groups: the unmanaged groups a departing user leaves, who may carry a plan
//! out (preflight), and a saved plan that is not what `plan` wrote.

use super::*;
use crate::plan::{
    Moved, Refusal, Warning, Who, check_saved, preflight, render_json, render_markdown, render_text,
};

fn who(email: &str) -> Who {
    Who {
        email: Some(Email::new(email)),
        iam_id: iam(email),
    }
}

/// Unlisted eve removed from the account, failed dan re-invited.
fn departures() -> (Desired, Live) {
    let d = desired()
        .user("dan@example.com", &["ml"])
        .expiring("gus@example.com", &["ml"], day(-1))
        .expiring("hal@example.com", &["ml"], day(3))
        .protect("pat@example.com")
        .remove_unlisted();
    let l = live()
        .caller("IBMid-admin")
        .user_in("dan@example.com", UserState::ErrorWhileProcessing)
        .user("eve@example.com")
        .user("gus@example.com")
        .user("hal@example.com")
        .user("pat@example.com")
        .group("ml")
        .group("lab")
        .member("ml", "eve@example.com");
    (d, l)
}

#[test]
fn the_users_leaving_the_account_are_those_the_plan_takes_out() {
    let (d, l) = departures();
    // eve (unlisted), gus (expired), dan's failed entry; not hal (expires later) nor pat
    // (protected) nor the caller.
    assert_eq!(
        plan_of(&d, &l).leaving_the_account(),
        vec![
            iam("dan@example.com"),
            iam("eve@example.com"),
            iam("gus@example.com")
        ]
    );
    let ignore = Desired(DesiredState {
        policy: Policy::default(),
        ..d.0.clone()
    });
    assert_eq!(
        plan_of(&ignore, &l).leaving_the_account(),
        vec![iam("dan@example.com")],
        "with unlisted_users: ignore only the failed invitation leaves"
    );
    // No plan, nobody to read: the plan fails with its own error first.
    let d = desired()
        .access("ml", vec![])
        .no_group_creation()
        .group("missing");
    assert!(crate::plan::plan(&d.0, &l.0, &options()).is_err());
}

#[test]
fn a_departing_user_names_every_unmanaged_group_they_leave() {
    let (d, l) = departures();
    let mut l = l
        .user_groups("eve@example.com", &["ml", "lab", "billing"])
        .user_groups("dan@example.com", &["Lab"])
        .user_groups("gus@example.com", &[]);
    // A second live group named like a managed one is not managed.
    l.0.groups.push(LiveGroup {
        id: AccessGroupId::new("AccessGroupId-ml-twin"),
        ..l.0.groups[0].clone()
    });
    l.0.user_groups
        .get_mut(&iam("eve@example.com"))
        .unwrap()
        .extend([
            GroupRef {
                id: AccessGroupId::new("AccessGroupId-ml-twin"),
                name: GroupName::new("ml"),
            },
            GroupRef {
                id: AccessGroupId::new(crate::model::PUBLIC_ACCESS_GROUP_ID),
                name: GroupName::new("Public Access"),
            },
        ]);
    let p = plan_of(&d, &l);
    let other = |email: &str| -> Vec<String> {
        p.changes
            .iter()
            .find_map(|c| match c {
                Change::RemoveUser {
                    email: e,
                    other_groups,
                    ..
                }
                | Change::InviteUser {
                    email: e,
                    other_groups,
                    ..
                } if e.as_str() == email => {
                    Some(other_groups.iter().map(|g| g.to_string()).collect())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no change for {email}"))
    };
    assert_eq!(other("eve@example.com"), ["billing", "lab", "ml"]);
    assert_eq!(other("dan@example.com"), ["Lab"]);
    assert!(other("gus@example.com").is_empty());
    assert!(
        !p.warnings
            .iter()
            .any(|w| matches!(w, Warning::OtherGroupsNotRead { .. })),
        "{:?}",
        p.warnings
    );
    let text = render_text(&p, false);
    assert!(
        text.contains(
            "- remove eve@example.com (IBMid-eve) from the account, leaving ml and 3 groups \
             orgsync does not manage: billing, lab, ml\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "+ invite dan@example.com into ml, replacing the failed invitation IBMid-dan, which \
             leaves 1 group orgsync does not manage: Lab\n"
        ),
        "{text}"
    );
    let md = render_markdown(&p);
    assert!(
        md.contains("leaving ml and 3 groups orgsync does not manage: billing, lab, ml\n"),
        "{md}"
    );
    // In JSON, `groups` keeps its meaning and `other_groups` holds the rest.
    let json: serde_json::Value = serde_json::from_str(&render_json(&p)).unwrap();
    let eve = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["email"] == "eve@example.com")
        .unwrap();
    assert_eq!(eve["groups"], serde_json::json!(["ml"]));
    assert_eq!(
        eve["other_groups"],
        serde_json::json!(["billing", "lab", "ml"])
    );
}

#[test]
fn users_whose_groups_were_not_read_are_named_in_one_warning() {
    let (d, l) = departures();
    let l = l.user_groups("eve@example.com", &["ml"]);
    let p = plan_of(&d, &l);
    assert_eq!(
        p.warnings
            .iter()
            .filter(|w| matches!(w, Warning::OtherGroupsNotRead { .. }))
            .collect::<Vec<_>>(),
        vec![&Warning::OtherGroupsNotRead {
            who: vec![who("dan@example.com"), who("gus@example.com")],
        }]
    );
    assert!(p.warnings.iter().any(|w| w.to_string().starts_with(
        "the access groups of 2 users this plan takes out of the account (or whose failed \
         invitation it replaces) were not read, so the plan cannot name the groups orgsync \
         does not manage that they leave: dan@example.com (IBMid-dan), gus@example.com \
         (IBMid-gus); check them"
    )));
}

#[test]
fn a_service_id_cannot_invite_or_remove_users_the_plan_warns_and_preflight_refuses() {
    let (d, l) = departures();
    let l = l.caller("iam-ServiceId-ci");
    let p = plan_of(&d, &l);
    assert!(p.warnings.contains(&Warning::CallerCannotManageUsers {
        caller: IamId::new("iam-ServiceId-ci"),
        invites: 1,
        removals: 2,
    }));
    let refusal = preflight(&p, &l.0.caller).expect_err("a service ID's key");
    let Refusal::CallerCannotManageUsers { changes, .. } = &refusal else {
        panic!("{refusal:?}");
    };
    assert_eq!(changes.len(), 3);
    assert_eq!(
        refusal.to_string(),
        "orgsync runs as service ID iam-ServiceId-ci, and IBM lets only a user's API key invite \
         or remove users, so this plan cannot be carried out; nothing was changed. It would \
         need:\n  invite_user dan@example.com into ml (replacing failed invitation IBMid-dan)\n  \
         remove_user eve@example.com (IBMid-eve) leaving ml\n  remove_user gus@example.com \
         (IBMid-gus)\nRun apply with the API key of a user who may invite and remove users \
         (IBMCLOUD_API_KEY or --api-key-file)"
    );
    // A user's key may; and a plan without user changes needs no user.
    assert_eq!(preflight(&p, &IamId::new("IBMid-admin")), Ok(()));
    let quiet = plan_of(&desired().group("ml"), &live().group("ml"));
    assert_eq!(preflight(&quiet, &IamId::new("iam-ServiceId-ci")), Ok(()));
    let p = plan_of(&d, &Live(l.0.clone()).caller("IBMid-admin"));
    assert!(
        !p.warnings
            .iter()
            .any(|w| matches!(w, Warning::CallerCannotManageUsers { .. }))
    );
}

#[test]
fn an_edited_plan_file_is_told_apart_from_a_moved_account() {
    let (d, l) = realistic();
    let fresh = plan_of(&d, &l);
    let mut saved = Plan::from_json(&render_json(&fresh)).unwrap();
    let dropped = saved.changes.remove(0);
    let refusal = check_saved(saved, &fresh).expect_err("edited");
    assert_eq!(
        refusal,
        Refusal::PlanFileAltered {
            moved: vec![Moved::New {
                change: dropped,
                count: 1
            }]
        }
    );
    assert_eq!(
        refusal.to_string(),
        "the plan file is not what `orgsync plan` wrote: neither the config nor the account \
         changed since it was saved, yet its changes differ from what planning yields (was it \
         edited, or planned with another --today?); nothing was changed. What differs:\n  + \
         create_group quantum-chemistry (planned now, missing from the file)\nRun `orgsync plan \
         --out PLANFILE` again and review it"
    );
    // With the account moved, it is the account that changed.
    let moved_on = Live(l.0.clone()).member("quantum-hardware", "bob@example.com");
    let saved = Plan::from_json(&render_json(&fresh)).unwrap();
    assert!(matches!(
        check_saved(saved, &plan_of(&d, &moved_on)),
        Err(Refusal::AccountChanged { .. })
    ));
}

#[test]
fn what_moved_never_shows_two_identical_lines() {
    let (d, l) = realistic();
    let fresh = plan_of(&d, &l);
    let mut saved = Plan::from_json(&render_json(&fresh)).unwrap();
    let repeated = saved.changes[3].clone();
    saved.changes.insert(3, repeated.clone());
    saved.changes.insert(3, repeated.clone());
    let refusal = check_saved(saved, &fresh).expect_err("edited");
    assert_eq!(
        refusal,
        Refusal::PlanFileAltered {
            moved: vec![Moved::Vanished {
                change: repeated.clone(),
                count: 2
            }]
        }
    );
    let text = refusal.to_string();
    assert!(
        text.contains(&format!("  - 2× {repeated} (in the file, not planned)\n")),
        "{text}"
    );
    assert_eq!(text.matches(&repeated.to_string()).count(), 1, "{text}");
}

#[test]
fn the_live_digest_moves_with_what_the_second_wave_reads() {
    let (_, l) = realistic_access();
    let base = crate::plan::live_digest(&l.0);
    let mut changed = l.0.clone();
    changed.groups[0].policies.as_mut().unwrap()[0].roles.pop();
    assert_ne!(crate::plan::live_digest(&changed), base, "a policy's roles");
    let mut changed = l.0.clone();
    changed.groups[0].rules.as_mut().unwrap()[0].expiration_hours = 1;
    assert_ne!(crate::plan::live_digest(&changed), base, "a rule");
    let mut changed = l.0.clone();
    changed.roles[0].display_name.push('!');
    assert_ne!(crate::plan::live_digest(&changed), base, "a role");
    let mut changed = l.0.clone();
    changed.user_groups.clear();
    assert_ne!(crate::plan::live_digest(&changed), base, "a user's groups");
    let mut reordered = l.0.clone();
    reordered.roles.reverse();
    reordered.instances.reverse();
    for g in &mut reordered.groups {
        if let Some(ps) = &mut g.policies {
            ps.reverse();
        }
    }
    assert_eq!(
        crate::plan::live_digest(&reordered),
        base,
        "order is not content"
    );
}
