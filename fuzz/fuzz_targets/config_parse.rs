//! Fuzzes the config parser (docs/security.md: no input makes orgsync panic): any bytes
//! that are UTF-8 go through `parse_str` and, when invalid, through every renderer of the
//! diagnostics (text, GitHub annotations, JSON). A valid result must keep the invariants
//! the planner relies on, the keys of what groups grant (`roles`, `access`, `rules`)
//! included.

#![no_main]

use libfuzzer_sys::fuzz_target;
use orgsync::model::{DesiredState, MAX_RULES_PER_GROUP, RULE_EXPIRATION_HOURS};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match orgsync::config::parse_str("fuzz.yaml", text) {
            Ok(desired) => check(&desired),
            Err(diagnostics) => {
                assert!(!diagnostics.is_empty());
                let _ = diagnostics.render(true);
                let _ = diagnostics.render_github();
                let json = diagnostics.render_json();
                assert!(json.starts_with('{') && json.ends_with("}\n"));
            }
        }
    }
});

fn check(desired: &DesiredState) {
    // Every user's group is declared.
    for user in desired.users.values() {
        for group in &user.groups {
            assert!(desired.groups.contains_key(group));
        }
    }
    for group in desired.groups.values() {
        for entry in group.access.iter().flatten() {
            assert!(entry.service.is_some() || entry.resource_group.is_some());
            assert!(entry.instance.is_none() || entry.service.is_some());
            assert!(!entry.roles.is_empty());
            for role in &entry.roles {
                if let Some(custom) = desired.roles.get(role) {
                    assert_eq!(Some(&custom.service), entry.service.as_ref());
                }
            }
        }
        for rule in group.rules.iter().flatten() {
            assert!(!rule.conditions.is_empty());
            assert!(RULE_EXPIRATION_HOURS.contains(&rule.expiration_hours));
        }
        assert!(group.rules.as_ref().is_none_or(|r| r.len() <= MAX_RULES_PER_GROUP));
    }
    for role in desired.roles.values() {
        assert!(!role.actions.is_empty());
        let prefix = format!("{}.", role.service);
        assert!(role.actions.iter().all(|a| a.starts_with(&prefix)));
    }
}
