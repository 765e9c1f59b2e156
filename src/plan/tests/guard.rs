//! The refusals `apply` bases on a plan: a saved plan that no longer holds, too many
//! removals. Each is matched by variant, and its message pinned as `apply` prints it.

use super::*;
use crate::plan::{Moved, Refusal, check_saved, guard_removals, render_json};

/// The realistic plan, and the same plan as `plan --out` saved it.
fn fresh_and_saved() -> (Plan, Plan) {
    let (d, l) = realistic();
    let fresh = plan_of(&d, &l);
    let saved = Plan::from_json(&render_json(&fresh)).expect("reads back");
    (fresh, saved)
}

#[test]
fn an_unchanged_saved_plan_is_applied_as_saved_with_the_fresh_rosters() {
    let (fresh, saved) = fresh_and_saved();
    assert!(saved.rosters.is_empty());
    let checked = check_saved(saved.clone(), &fresh).expect("still holds");
    assert_eq!(checked.changes, saved.changes);
    assert_eq!(checked.warnings, saved.warnings, "the reviewed text");
    assert_eq!(checked.rosters, fresh.rosters);
}

#[test]
fn a_plan_saved_for_another_account_is_refused_naming_both() {
    let (fresh, mut saved) = fresh_and_saved();
    saved.account_id = AccountId::new("ffffffffffffffffffffffffffffffff");
    let refusal = check_saved(saved, &fresh).expect_err("another account");
    assert_eq!(
        refusal,
        Refusal::OtherAccount {
            saved: AccountId::new("ffffffffffffffffffffffffffffffff"),
            governed: AccountId::new(ACCOUNT),
        }
    );
    assert_eq!(
        refusal.to_string(),
        "the saved plan is for account ffffffffffffffffffffffffffffffff, but the file governs \
         account 0123456789abcdef0123456789abcdef; plan again with this file"
    );
}

#[test]
fn a_plan_saved_from_another_config_is_refused() {
    let (fresh, mut saved) = fresh_and_saved();
    saved.config_digest = "sha256:00".into();
    let refusal = check_saved(saved, &fresh).expect_err("config changed");
    assert_eq!(refusal, Refusal::ConfigChanged);
    assert_eq!(
        refusal.to_string(),
        "the config file changed since the plan was saved; nothing was changed. Run `orgsync \
         plan --out PLANFILE` again and review it"
    );
}

#[test]
fn a_plan_the_account_moved_away_from_is_refused_listing_what_moved() {
    let (d, l) = realistic();
    let saved = plan_of(&d, &l);
    // Since saving, someone added bob to quantum-hardware by hand.
    let moved_on = Live(l.0.clone()).member("quantum-hardware", "bob@example.com");
    let fresh = plan_of(&d, &moved_on);
    let bob_added = saved
        .changes
        .iter()
        .find(|c| c.to_string().starts_with("add_member bob@example.com"))
        .expect("the saved plan adds bob")
        .clone();
    let refusal = check_saved(saved, &fresh).expect_err("the account moved");
    assert_eq!(
        refusal,
        Refusal::AccountChanged {
            moved: vec![Moved::Vanished {
                change: bob_added,
                count: 1
            }]
        }
    );
    assert_eq!(
        refusal.to_string(),
        "the account changed since the plan was saved; nothing was changed. What moved:\n  - \
         add_member bob@example.com (IBMid-bob) to quantum-hardware (no longer needed)\nRun \
         `orgsync plan --out PLANFILE` again and review it"
    );
}

#[test]
fn removals_beyond_the_policy_and_the_allowance_are_refused() {
    let (fresh, _) = fresh_and_saved();
    assert_eq!(fresh.removals(), 4);
    assert_eq!(guard_removals(&fresh, 4, None), Ok(()));
    assert_eq!(
        guard_removals(&fresh, 1, Some(4)),
        Ok(()),
        "--allow-removals covers them"
    );
    assert_eq!(
        guard_removals(&fresh, 10, Some(1)),
        Ok(()),
        "the larger limit counts"
    );

    let refusal = guard_removals(&fresh, 3, None).expect_err("4 > 3");
    assert_eq!(
        refusal,
        Refusal::TooManyRemovals {
            removals: 4,
            revocations: 0,
            max: 3,
            allowed: None
        }
    );
    assert_eq!(
        refusal.to_string(),
        "the plan removes 4 memberships or users, more than policy.max_removals (3); nothing \
         was changed. Review the removals, then pass --allow-removals 4"
    );
    let refusal = guard_removals(&fresh, 2, Some(3)).expect_err("4 > 3");
    assert_eq!(
        refusal.to_string(),
        "the plan removes 4 memberships or users, more than policy.max_removals (2) and \
         --allow-removals 3; nothing was changed. Review the removals, then pass \
         --allow-removals 4"
    );
}

#[test]
fn removed_grants_count_and_are_named_beside_memberships() {
    let (d, l) = realistic_access();
    let p = plan_of(&d, &l);
    // ravi from ml, eve from the account, rule `legacy`, the QR-old policy, and Writer
    // dropped from QR-common.
    assert_eq!(p.removals(), 5);
    let refusal = guard_removals(&p, 4, None).expect_err("5 > 4");
    assert_eq!(
        refusal,
        Refusal::TooManyRemovals {
            removals: 5,
            revocations: 3,
            max: 4,
            allowed: None
        }
    );
    assert!(refusal.to_string().starts_with(
        "the plan removes 5 memberships, users or grants (3 of them access policies, roles \
         taken from a policy, or dynamic rules), more than policy.max_removals (4)"
    ));
    let one = plan_of(
        &desired().group("g"),
        &live()
            .user("x@example.com")
            .group("g")
            .member("g", "x@example.com"),
    );
    assert!(
        guard_removals(&one, 0, None)
            .expect_err("1 > 0")
            .to_string()
            .starts_with("the plan removes 1 membership or user, more than")
    );
}

#[test]
fn a_refusal_can_be_held_as_a_typed_error_cause() {
    let cause: Box<dyn std::error::Error + Send + Sync> = Box::new(Refusal::ConfigChanged);
    assert!(cause.downcast_ref::<Refusal>().is_some());
}
