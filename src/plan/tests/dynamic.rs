//! One test per rule of docs/reconciliation.md, Dynamic rules.

use super::*;
use crate::model::RuleOperator::{Contains, Equals};
use crate::plan::{AccessLoss, PlanError, RuleRef, Warning};

fn project(value: &str) -> Vec<RuleCondition> {
    vec![condition("project", Contains, value)]
}

/// `ml`, managed, with its rules read (none yet).
fn ml() -> Live {
    live().group("ml").live_rules("ml", Vec::new())
}

#[test]
fn a_declared_rule_the_group_lacks_is_created() {
    let d = desired().rules("ml", vec![rule("ml-project", project("ml"))]);
    assert_eq!(
        plan_of(&d, &ml()).changes,
        vec![Change::CreateRule {
            group: GroupName::new("ml"),
            group_id: Some(group_id("ml")),
            rule: "ml-project".into(),
            realm: REALM.into(),
            expiration_hours: 24,
            conditions: project("ml"),
        }]
    );
    // A group this plan creates gets its rules without a group id.
    let p = plan_of(&d, &live());
    assert!(matches!(
        p.changes.as_slice(),
        [
            Change::CreateGroup { .. },
            Change::CreateRule { group_id: None, .. }
        ]
    ));
}

#[test]
fn rules_match_by_name_ignoring_case_and_conditions_compare_as_a_set() {
    let conditions = vec![
        condition("project", Contains, "ml"),
        condition("dept", Equals, "research"),
    ];
    let d = desired().rules("ml", vec![rule("ml-project", conditions.clone())]);
    let mut reversed = conditions;
    reversed.reverse();
    let l = ml().live_rules("ml", vec![live_rule("r1", &rule("ML-Project", reversed))]);
    assert!(plan_of(&d, &l).is_empty());
}

#[test]
fn a_differing_field_is_replaced_with_the_old_value_of_that_field_only() {
    let wanted = rule("ml-project", project("ml"));
    let d = desired().rules("ml", vec![wanted.clone()]);
    let live_one = LiveRule {
        realm: "https://other.example/realm".into(),
        ..live_rule("r1", &wanted)
    };
    let l = ml().live_rules("ml", vec![live_one]);
    assert_eq!(
        plan_of(&d, &l).changes,
        vec![Change::UpdateRule {
            group: GroupName::new("ml"),
            group_id: group_id("ml"),
            rule: "ml-project".into(),
            rule_id: RuleId::new("r1"),
            realm: REALM.into(),
            expiration_hours: 24,
            conditions: project("ml"),
            old_realm: Some("https://other.example/realm".into()),
            old_expiration_hours: None,
            old_conditions: None,
        }]
    );
    let live_two = LiveRule {
        expiration_hours: 12,
        conditions: project("m"),
        ..live_rule("r1", &wanted)
    };
    let l = ml().live_rules("ml", vec![live_two]);
    assert!(matches!(
        plan_of(&d, &l).changes.as_slice(),
        [Change::UpdateRule { old_realm: None, old_expiration_hours: Some(12), old_conditions: Some(c), .. }]
            if c == &project("m")
    ));
}

#[test]
fn live_rules_the_file_does_not_name_are_removed_unnamed_ones_included() {
    let d = desired().rules("ml", vec![]);
    let l = ml().live_rules(
        "ml",
        vec![
            live_rule("r1", &rule("old", project("ml"))),
            live_rule("r2", &rule("", project("ml"))),
        ],
    );
    let p = plan_of(&d, &l);
    assert_eq!(
        p.changes,
        vec![
            Change::RemoveRule {
                group: GroupName::new("ml"),
                group_id: group_id("ml"),
                rule: String::new(),
                rule_id: RuleId::new("r2"),
            },
            Change::RemoveRule {
                group: GroupName::new("ml"),
                group_id: group_id("ml"),
                rule: "old".into(),
                rule_id: RuleId::new("r1"),
            },
        ]
    );
    assert_eq!(p.removals(), 2, "rule removals count toward max_removals");
}

#[test]
fn of_two_live_rules_with_one_name_the_first_by_id_is_kept_and_the_other_removed() {
    let wanted = rule("ml-project", project("ml"));
    let d = desired().rules("ml", vec![wanted.clone()]);
    let l = ml().live_rules(
        "ml",
        vec![live_rule("r2", &wanted), live_rule("r1", &wanted)],
    );
    assert_eq!(
        lines(&plan_of(&d, &l)),
        ["remove_rule \"ml-project\" of ml"]
    );
    assert!(matches!(
        plan_of(&d, &l).changes.as_slice(),
        [Change::RemoveRule { rule_id, .. }] if rule_id.as_str() == "r2"
    ));
}

#[test]
fn a_group_without_rules_keeps_its_rules_untouched() {
    let l = ml().live_rules("ml", vec![live_rule("r1", &rule("old", project("ml")))]);
    assert!(plan_of(&desired().group("ml"), &l).is_empty());
}

#[test]
fn the_rules_of_a_group_with_rules_must_have_been_read() {
    let d = desired().rules("ml", vec![]);
    assert!(matches!(
        plan(&d.0, &live().group("ml").0, &options()),
        Err(PlanError::RulesNotRead { .. })
    ));
}

#[test]
fn dynamic_members_are_never_removed_and_are_reported() {
    let d = desired().group("ml");
    let l = ml()
        .user("idp@example.com")
        .user("stray@example.com")
        .dynamic_member("ml", "idp@example.com")
        .member("ml", "stray@example.com");
    let p = plan_of(&d, &l);
    assert_eq!(
        lines(&p),
        ["remove_member stray@example.com (IBMid-stray) from ml"]
    );
    assert_eq!(
        p.unmanaged.dynamic_members,
        vec![crate::plan::UnmanagedMember {
            group: GroupName::new("ml"),
            iam_id: iam("idp@example.com"),
            kind: "user".into(),
        }]
    );
    // The roster shows them, marked, on both sides.
    let roster = &p.rosters[&GroupName::new("ml")];
    assert_eq!(
        roster.before,
        ["idp@example.com (dynamic)", "stray@example.com"]
    );
    assert_eq!(roster.after, ["idp@example.com (dynamic)"]);
}

#[test]
fn a_listed_user_a_rule_already_put_in_a_group_is_not_added_again() {
    let d = desired().user("idp@example.com", &["ml"]);
    let l = ml()
        .user("idp@example.com")
        .dynamic_member("ml", "idp@example.com");
    assert!(plan_of(&d, &l).is_empty());
}

#[test]
fn a_contains_value_inside_another_groups_value_on_the_same_claim_is_warned_about() {
    let d = desired()
        .rules("ml", vec![rule("ml-project", project("ml"))])
        .rules("ml-readers", vec![rule("readers", project("mlReader"))])
        // Same value, another claim, another realm: none of these overlap.
        .rules("twin", vec![rule("twin", project("ml"))])
        .rules(
            "team",
            vec![rule("team", vec![condition("team", Contains, "mlReader")])],
        )
        .rules(
            "elsewhere",
            vec![DesiredRule {
                realm: "https://other.example/realm".into(),
                ..rule("elsewhere", project("mlReaderX"))
            }],
        );
    let l = live()
        .group("ml")
        .group("ml-readers")
        .group("twin")
        .group("team")
        .group("elsewhere");
    let l = ["ml", "ml-readers", "twin", "team", "elsewhere"]
        .into_iter()
        .fold(l, |l, g| l.live_rules(g, Vec::new()));
    let p = plan_of(&d, &l);
    let overlap =
        |broad: (&str, &str, &str), narrow: (&str, &str, &str)| Warning::ContainsOverlap {
            realm: REALM.into(),
            claim: "project".into(),
            broad: RuleRef {
                group: GroupName::new(broad.0),
                rule: broad.1.into(),
                value: broad.2.into(),
            },
            narrow: RuleRef {
                group: GroupName::new(narrow.0),
                rule: narrow.1.into(),
                value: narrow.2.into(),
            },
        };
    assert_eq!(
        p.warnings,
        vec![
            overlap(
                ("ml", "ml-project", "ml"),
                ("ml-readers", "readers", "mlReader")
            ),
            overlap(
                ("twin", "twin", "ml"),
                ("ml-readers", "readers", "mlReader")
            ),
        ]
    );
    assert_eq!(
        p.warnings[0].to_string(),
        format!(
            "rule \"ml-project\" of `ml` (project CONTAINS \"ml\") also admits everyone rule \
             \"readers\" of `ml-readers` admits (project CONTAINS \"mlReader\"), on realm {REALM}: \
             \"ml\" is part of \"mlReader\"; use values that are not part of one another"
        )
    );
    // Within one group the shorter value already admits the longer's users: no warning.
    let d = desired().rules(
        "ml",
        vec![rule("a", project("ml")), rule("b", project("mlReader"))],
    );
    assert!(plan_of(&d, &ml()).warnings.is_empty());
}

#[test]
fn removing_a_rule_that_made_the_caller_a_member_is_warned_about() {
    let d = desired().rules("ml", vec![]);
    let l = ml()
        .live_rules("ml", vec![live_rule("r1", &rule("staff", project("ml")))])
        .dynamic_member("ml", "robot@example.com")
        .caller(iam("robot@example.com").as_str());
    assert_eq!(
        plan_of(&d, &l).warnings,
        vec![Warning::CallerAccessReduced {
            group: GroupName::new("ml"),
            caller: iam("robot@example.com"),
            losses: vec![AccessLoss::Rule {
                rule: "staff".into()
            }],
        }]
    );
    // A static member keeps its place whatever the rules.
    let l = ml()
        .live_rules("ml", vec![live_rule("r1", &rule("staff", project("ml")))])
        .user("robot@example.com")
        .member("ml", "robot@example.com")
        .caller(iam("robot@example.com").as_str());
    let d = d.user("robot@example.com", &["ml"]);
    assert!(plan_of(&d, &l).warnings.is_empty());
}

#[test]
fn creating_rules_before_removing_others_beyond_ibms_limit_is_warned_about() {
    let names = ["a", "b", "c", "d"];
    let d = desired().rules("ml", names.iter().map(|n| rule(n, project(n))).collect());
    let old: Vec<LiveRule> = (0..4)
        .map(|i| live_rule(&format!("r{i}"), &rule(&format!("old{i}"), project("x"))))
        .collect();
    let p = plan_of(&d, &ml().live_rules("ml", old));
    assert_eq!(
        p.warnings,
        vec![Warning::RuleLimitDuringApply {
            group: GroupName::new("ml"),
            live: 4,
            creates: 4,
            removes: 4,
        }]
    );
    // Within the limit: no warning.
    let d = desired().rules("ml", vec![rule("a", project("a"))]);
    let old = vec![live_rule("r1", &rule("old", project("x")))];
    assert!(plan_of(&d, &ml().live_rules("ml", old)).warnings.is_empty());
}

#[test]
fn a_dynamic_member_removed_from_the_account_leaves_the_roster() {
    let d = desired().group("ml").remove_unlisted();
    let l = ml()
        .user("idp@example.com")
        .dynamic_member("ml", "idp@example.com")
        .user_groups("idp@example.com", &["ml"]);
    let p = plan_of(&d, &l);
    assert_eq!(
        lines(&p),
        ["remove_user idp@example.com (IBMid-idp) leaving ml"]
    );
    let roster = &p.rosters[&GroupName::new("ml")];
    assert_eq!(roster.before, ["idp@example.com (dynamic)"]);
    assert!(roster.after.is_empty());
}

#[test]
fn a_live_rule_with_a_condition_orgsync_cannot_read_is_replaced_not_taken_as_in_sync() {
    let wanted = rule("ml-project", project("ml"));
    let d = desired().rules("ml", vec![wanted.clone()]);
    let unreadable = LiveRule {
        unreadable_conditions: 1,
        ..live_rule("r1", &wanted)
    };
    let l = ml().live_rules("ml", vec![unreadable]);
    let p = plan_of(&d, &l);
    assert_eq!(
        p.changes.iter().map(|c| c.kind()).collect::<Vec<_>>(),
        [crate::plan::ChangeKind::UpdateRule],
        "{:?}",
        lines(&p)
    );
    // The same rule, all of it readable, is in sync.
    let l = ml().live_rules("ml", vec![live_rule("r1", &wanted)]);
    assert!(plan_of(&d, &l).is_empty());
}
