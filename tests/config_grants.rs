//! What groups grant, as the config file says it (docs/config.md, roles, access and
//! rules): the keys become the model's types with every default and normalization, the
//! files without them plan exactly as before, and mutated files are valid (keeping the
//! invariants the planner relies on) or diagnosed, never a panic.

use std::path::Path;

use orgsync::config;
use orgsync::model::{
    DesiredAccess, DesiredState, GroupName, InstanceGuid, InstanceRef, ResourceGroupId,
    ResourceGroupRef, RoleName, RuleCondition, RuleOperator, ServiceName,
};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn grants() -> DesiredState {
    config::load(&manifest_dir().join("tests/config/valid/grants.yaml"))
        .expect("valid")
        .desired
}

fn access_of<'d>(desired: &'d DesiredState, group: &str) -> &'d [DesiredAccess] {
    desired.groups[&GroupName::new(group)]
        .access
        .as_deref()
        .expect("governed")
}

fn roles(names: &[&str]) -> std::collections::BTreeSet<RoleName> {
    names.iter().map(|n| RoleName::new(*n)).collect()
}

#[test]
fn declared_roles_become_desired_roles_with_sorted_actions() {
    let desired = grants();
    assert_eq!(desired.roles.len(), 1);
    let role = &desired.roles[&RoleName::new("JobManager")];
    assert_eq!(role.service, ServiceName::new("quantum-computing"));
    assert_eq!(role.display_name, "Job manager");
    assert_eq!(
        role.description.as_deref(),
        Some("Run, cancel and delete Qiskit Runtime jobs")
    );
    let actions: Vec<&str> = role.actions.iter().map(String::as_str).collect();
    assert_eq!(
        actions,
        [
            "quantum-computing.device.read",
            "quantum-computing.job.cancel",
            "quantum-computing.job.create",
            "quantum-computing.job.delete",
            "quantum-computing.job.read",
        ]
    );
}

#[test]
fn access_entries_name_instances_and_resource_groups_as_written() {
    let desired = grants();
    let ml = access_of(&desired, "ml");
    assert_eq!(
        ml,
        [
            DesiredAccess {
                service: Some(ServiceName::new("quantum-computing")),
                instance: Some(InstanceRef::Name("QR-ml".into())),
                resource_group: None,
                roles: roles(&["JobManager", "Reader", "Viewer"]),
            },
            DesiredAccess {
                service: Some(ServiceName::new("quantum-computing")),
                instance: Some(InstanceRef::Name("QR-common".into())),
                resource_group: None,
                roles: roles(&["Reader"]),
            },
        ]
    );
    let finance = access_of(&desired, "finance");
    assert!(matches!(&finance[0].instance, Some(InstanceRef::Crn(crn)) if crn.ends_with("0c1b::")));
    assert_eq!(
        finance[1].instance,
        Some(InstanceRef::Guid(InstanceGuid::new(
            "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
        )))
    );
    // A resource group alone, by name; and a service's instances in a group, by id.
    assert_eq!(finance[2].service, None);
    assert_eq!(
        finance[2].resource_group,
        Some(ResourceGroupRef::Name("Default".into()))
    );
    assert_eq!(
        finance[3].resource_group,
        Some(ResourceGroupRef::Id(ResourceGroupId::new(
            "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
        )))
    );
    // A service-specific role of the account (not declared): left to the planner.
    assert_eq!(finance[3].roles, roles(&["Content Reader"]));
    // `access: []` governs the group's policies (none); no `access` leaves them alone.
    assert_eq!(access_of(&desired, "ml-idp"), []);
    assert_eq!(
        desired.groups[&GroupName::new("unmanaged-grants")].access,
        None
    );
}

#[test]
fn rules_get_the_default_expiration_and_values_as_written() {
    let desired = grants();
    let rules = desired.groups[&GroupName::new("ml-idp")]
        .rules
        .as_ref()
        .expect("governed");
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].name, "ml-project");
    assert_eq!(
        rules[0].realm,
        "https://us-south.appid.cloud.ibm.com/oauth/v4/0123-tenant"
    );
    assert_eq!(rules[0].expiration_hours, 24);
    assert_eq!(
        rules[0].conditions,
        [RuleCondition {
            claim: "project".into(),
            operator: RuleOperator::Contains,
            value: "ml".into(),
        }]
    );
    assert_eq!(rules[1].expiration_hours, 12);
    // A boolean and a number written plainly are the text that was written.
    let values: Vec<&str> = rules[1]
        .conditions
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(values, ["true", "3"]);
    assert_eq!(
        desired.groups[&GroupName::new("finance")].rules,
        Some(Vec::new())
    );
    assert_eq!(desired.groups[&GroupName::new("ml")].rules, None);
}

#[test]
fn included_files_carry_roles_and_access_used_across_files() {
    let loaded = config::load(&manifest_dir().join("tests/config/valid/include_grants/org.yaml"))
        .expect("valid");
    let d = &loaded.desired;
    assert!(d.roles.contains_key("JobManager"));
    // The main file grants a role declared in an included file.
    assert!(access_of(d, "ml")[0].roles.contains("JobManager"));
    assert_eq!(access_of(d, "finance")[0].roles, roles(&["JobManager"]));
    assert_eq!(
        d.groups[&GroupName::new("finance")]
            .rules
            .as_ref()
            .map(Vec::len),
        Some(1)
    );
}

/// The digest a saved plan carries of a file without the new keys is what it was before
/// they existed (pinned from the version before them), so saved plans stay valid.
#[test]
fn a_file_without_the_new_keys_digests_as_before() {
    let loaded =
        config::load(&manifest_dir().join("tests/config/valid/include/org.yaml")).expect("valid");
    assert_eq!(
        orgsync::plan::config_digest(&loaded.desired),
        "sha256:297a1a61d5a9e07b45e03bdce96bfd90eb8113d54d4b1958fa8fd531e86490f4"
    );
    let json = serde_json::to_value(&loaded.desired).expect("serializable");
    assert!(json.get("roles").is_none());
    for group in json["groups"].as_object().expect("groups").values() {
        assert!(group.get("access").is_none() && group.get("rules").is_none());
    }
}

#[test]
fn the_example_with_grants_is_valid_through_the_binary() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .args(["validate", "-c", "tests/config/valid/grants.yaml"])
        .current_dir(manifest_dir())
        .env("NO_COLOR", "1")
        .output()
        .expect("run orgsync");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

mod mutations {
    use super::*;
    use proptest::prelude::*;

    /// Edits that reach the new keys: a line's value replaced by a token that is wrong in
    /// some position, a line dropped, duplicated or indented.
    #[derive(Debug, Clone)]
    enum Edit {
        Replace { line: usize, with: String },
        Drop { line: usize },
        Duplicate { line: usize },
        Indent { line: usize, by: usize },
        Insert { at: usize, text: String },
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("Reader".to_string()),
            Just("reader".to_string()),
            Just("JobManager".to_string()),
            Just("jobManager".to_string()),
            Just("Content  Reader".to_string()),
            Just("CONTAINS".to_string()),
            Just("contains".to_string()),
            Just("LIKE".to_string()),
            Just("quantum-computing".to_string()),
            Just("cloud-object-storage".to_string()),
            Just("QR-ml".to_string()),
            Just("\"crn:v1:bluemix:public:quantum-computing:us-east:a/0123456789abcdef0123456789abcdef:5e1d1b0c-8f5a-4d7e-9c3b-2a6f4e8d0c1b::\"".to_string()),
            Just("0f1e2d3c4b5a69788796a5b4c3d2e1f0".to_string()),
            Just("https://x.example".to_string()),
            Just("0".to_string()),
            Just("25".to_string()),
            Just("010".to_string()),
            Just("1.0".to_string()),
            Just("[]".to_string()),
            Just("{}".to_string()),
            Just("".to_string()),
            Just("!!binary eA==".to_string()),
            Just("[Reader, Reader]".to_string()),
            Just("\"a\\u200bb\"".to_string()),
            "[ -~]{1,8}".prop_map(|s| s),
        ]
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<usize>(), token()).prop_map(|(line, with)| Edit::Replace { line, with }),
            any::<usize>().prop_map(|line| Edit::Drop { line }),
            any::<usize>().prop_map(|line| Edit::Duplicate { line }),
            (any::<usize>(), 1usize..4).prop_map(|(line, by)| Edit::Indent { line, by }),
            (any::<usize>(), token()).prop_map(|(at, text)| Edit::Insert { at, text }),
        ]
    }

    fn apply(text: &str, edit: &Edit) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let n = lines.len();
        match edit {
            // The value after the line's last `: ` (or the line's list item), replaced.
            Edit::Replace { line, with } => {
                let l = &mut lines[line % n];
                let cut = l
                    .rfind(": ")
                    .map(|i| i + 2)
                    .or_else(|| l.find("- ").map(|i| i + 2));
                if let Some(cut) = cut {
                    l.truncate(cut);
                    l.push_str(with);
                }
            }
            Edit::Drop { line } => {
                lines.remove(line % n);
            }
            Edit::Duplicate { line } => {
                let l = lines[line % n].clone();
                lines.insert(line % n, l);
            }
            Edit::Indent { line, by } => {
                let i = line % n;
                lines[i] = format!("{}{}", " ".repeat(*by), lines[i]);
            }
            Edit::Insert { at, text } => {
                let chars: Vec<char> = lines.join("\n").chars().collect();
                let at = at % (chars.len() + 1);
                let mut out: String = chars[..at].iter().collect();
                out.push_str(text);
                out.extend(&chars[at..]);
                return out;
            }
        }
        lines.join("\n")
    }

    /// What the planner relies on (the invariants `DesiredState` documents).
    fn check_invariants(desired: &DesiredState) -> Result<(), TestCaseError> {
        for group in desired.groups.values() {
            for entry in group.access.iter().flatten() {
                prop_assert!(entry.service.is_some() || entry.resource_group.is_some());
                prop_assert!(entry.instance.is_none() || entry.service.is_some());
                prop_assert!(!entry.roles.is_empty());
                for role in &entry.roles {
                    if let Some(custom) = desired.roles.get(role) {
                        prop_assert_eq!(Some(&custom.service), entry.service.as_ref());
                    }
                }
            }
            if let Some(rules) = &group.rules {
                prop_assert!(rules.len() <= orgsync::model::MAX_RULES_PER_GROUP);
                let mut names: Vec<String> = rules.iter().map(|r| r.name.to_lowercase()).collect();
                names.sort();
                names.dedup();
                prop_assert_eq!(names.len(), rules.len());
                for rule in rules {
                    prop_assert!(!rule.conditions.is_empty());
                    prop_assert!(
                        orgsync::model::RULE_EXPIRATION_HOURS.contains(&rule.expiration_hours)
                    );
                }
            }
        }
        for role in desired.roles.values() {
            prop_assert!(!role.actions.is_empty());
            let prefix = format!("{}.", role.service);
            for action in &role.actions {
                prop_assert!(action.starts_with(&prefix));
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn mutated_grants_are_valid_or_diagnosed_never_a_panic(
            edits in proptest::collection::vec(edit(), 1..5)
        ) {
            let mut text = std::fs::read_to_string(manifest_dir().join("tests/config/valid/grants.yaml"))
                .expect("read grants");
            for e in &edits {
                text = apply(&text, e);
            }
            match config::parse_str("org.yaml", &text) {
                Ok(desired) => check_invariants(&desired)?,
                Err(diags) => {
                    prop_assert!(!diags.is_empty());
                    let rendered = diags.render(false);
                    prop_assert!(rendered.contains("error: ") && rendered.contains("org.yaml"));
                    let json: serde_json::Value = serde_json::from_str(&diags.render_json())
                        .expect("JSON");
                    prop_assert_eq!(json["count"].as_u64(), Some(diags.len() as u64));
                    let annotations = diags.len().min(200) + usize::from(diags.len() > 200);
                    prop_assert_eq!(diags.render_github().lines().count(), annotations);
                }
            }
        }
    }
}
