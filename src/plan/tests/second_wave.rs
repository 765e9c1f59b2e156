//! The second wave's part of the property tests' random scenarios: custom roles,
//! policies (unexpressible ones and roles the listing does not know included), instances,
//! resource groups, dynamic rules, dynamic members and the groups of departing users,
//! drawn so that every scenario is one a validated file and a real account can produce
//! (roles the file names exist; no two entries share a target; IBM's one policy per
//! target holds).

use proptest::prelude::*;

use super::*;

/// What the random part says, per group where it matters.
#[derive(Clone, Debug)]
pub(super) struct AccessSpec {
    /// The file declares JobManager (with one of two definitions).
    declared_role: Option<u8>,
    /// The account has JobManager (with one of three definitions).
    live_role: Option<u8>,
    groups: Vec<GroupSpec>,
    /// Per user: whether their groups were read, and whether they are in `lab` too.
    user_groups: Vec<Option<bool>>,
}

#[derive(Clone, Debug)]
struct GroupSpec {
    /// `access`: per target, the roles (a mask) of an entry naming it.
    access: Option<[Option<u8>; 6]>,
    /// Live policies: per target, the roles (a mask over the live pool).
    policies: [Option<u8>; 6],
    unexpressible: bool,
    /// Whether the policies are read when the file does not govern them.
    policies_read: bool,
    /// `rules`: per name, a variant.
    rules: Option<[Option<u8>; 3]>,
    /// Live rules: (name: 0-2, 3 = unnamed; variant; name in capitals).
    live_rules: Vec<(u8, u8, bool)>,
    rules_read: bool,
    /// Users (a mask) who are dynamic members.
    dynamic: u8,
}

pub(super) fn access_spec() -> impl Strategy<Value = AccessSpec> {
    let group = (
        prop::option::of(prop::array::uniform6(prop::option::of(any::<u8>()))),
        prop::array::uniform6(prop::option::weighted(0.3, any::<u8>())),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(prop::array::uniform3(prop::option::of(0u8..4))),
        prop::collection::vec((0u8..4, 0u8..4, any::<bool>()), 0..4),
        any::<bool>(),
        prop::option::weighted(0.3, any::<u8>()),
    )
        .prop_map(
            |(
                access,
                policies,
                unexpressible,
                policies_read,
                rules,
                live_rules,
                rules_read,
                dynamic,
            )| {
                GroupSpec {
                    access,
                    policies,
                    unexpressible,
                    policies_read,
                    rules,
                    live_rules,
                    rules_read,
                    dynamic: dynamic.unwrap_or(0),
                }
            },
        );
    (
        prop::option::of(0u8..2),
        prop::option::of(0u8..3),
        prop::collection::vec(group, 5),
        prop::collection::vec(prop::option::of(any::<bool>()), 6),
    )
        .prop_map(
            |(declared_role, live_role, groups, user_groups)| AccessSpec {
                declared_role,
                live_role,
                groups,
                user_groups,
            },
        )
}

const RG_DEFAULT: &str = "rg-default";
const RG_RESEARCH: &str = "rg-research";

/// The targets entries may name: (as the file writes it, as IBM stores it, the roles
/// the file may grant there).
fn targets() -> [(DesiredAccess, PolicyTarget, &'static [&'static str]); 6] {
    let qc_roles: &[&str] = &["Viewer", "Reader", "Writer", "JobManager"];
    let dup = InstanceGuid::new("guid-dup-1");
    [
        (
            entry(Some(QC), None, None, &[]),
            target(Some(QC), None, None),
            qc_roles,
        ),
        (
            entry(Some(QC), Some("QR-ml"), None, &[]),
            target(Some(QC), Some(&instance_guid("QR-ml")), None),
            qc_roles,
        ),
        (
            entry(Some(QC), Some("guid:guid-qr-common"), None, &[]),
            target(Some(QC), Some(&instance_guid("QR-common")), None),
            qc_roles,
        ),
        // Two instances share the name QR-dup: the file names this one by CRN.
        (
            entry(
                Some(QC),
                Some(&format!(
                    "crn:v1:bluemix:public:{QC}:us-east:a/{ACCOUNT}:{dup}::"
                )),
                None,
                &[],
            ),
            target(Some(QC), Some(&dup), None),
            qc_roles,
        ),
        (
            entry(None, None, Some("Default"), &[]),
            target(None, None, Some(RG_DEFAULT)),
            &["Viewer", "Editor"],
        ),
        (
            entry(Some(COS), None, Some(&format!("id:{RG_RESEARCH}")), &[]),
            target(Some(COS), None, Some(RG_RESEARCH)),
            &["Viewer", "Reader"],
        ),
    ]
}

/// The CRNs live policies may grant on a target: what the file may grant, and a role the
/// listing does not know.
fn live_role_pool(roles: &[&str]) -> Vec<RoleCrn> {
    let mut pool: Vec<RoleCrn> = roles
        .iter()
        .map(|r| {
            if *r == "JobManager" {
                custom(r)
            } else {
                ibm_role(r)
            }
        })
        .collect();
    pool.push(RoleCrn::new(
        "crn:v1:bluemix:public:quantum-computing::::serviceRole:Odd",
    ));
    pool
}

const RULE_NAMES: [&str; 3] = ["alpha", "beta", "gamma"];

fn rule_variant(name: &str, variant: u8) -> DesiredRule {
    let mut r = rule(
        name,
        vec![condition("project", RuleOperator::Contains, "ml")],
    );
    match variant {
        0 => {}
        1 => r.expiration_hours = 12,
        2 => r.realm = "https://other.example/realm".into(),
        _ => {
            r.conditions = vec![
                condition("dept", RuleOperator::Equals, "lab"),
                condition("project", RuleOperator::Contains, "ml"),
            ]
        }
    }
    r
}

fn job_manager(variant: u8) -> (&'static str, &'static str, Vec<&'static str>) {
    match variant {
        0 => (
            "Job manager",
            "Runs jobs",
            vec!["quantum-computing.job.read"],
        ),
        1 => (
            "Jobs",
            "",
            vec!["quantum-computing.job.read", "quantum-computing.job.delete"],
        ),
        _ => ("Job manager", "Old", vec!["quantum-computing.job.delete"]),
    }
}

/// Adds the second wave's part to a scenario built by the property tests.
pub(super) fn add(
    desired: DesiredState,
    live: LiveState,
    spec: &AccessSpec,
    groups: &[&str],
    emails: &[&str],
) -> (DesiredState, LiveState) {
    let mut d = Desired(desired);
    let mut l = Live(live)
        .ibm_roles(QC)
        .ibm_roles(COS)
        .instance(QC, "QR-ml")
        .instance(QC, "QR-common")
        .instance_with(QC, "QR-dup", "guid-dup-1")
        .instance_with(QC, "QR-dup", "guid-dup-2")
        .resource_group("Default", RG_DEFAULT)
        .resource_group("Research", RG_RESEARCH)
        .custom_role("Legacy", QC, "Legacy", "", &["quantum-computing.job.read"]);
    if let Some(v) = spec.declared_role {
        let (display, description, actions) = job_manager(v);
        d = d.role(
            "JobManager",
            QC,
            display,
            Some(description).filter(|_| v == 0),
            &actions,
        );
    }
    if let Some(v) = spec.live_role {
        let (display, description, actions) = job_manager(v);
        l = l.custom_role("JobManager", QC, display, description, &actions);
    }
    let job_manager_known = spec.declared_role.is_some() || spec.live_role.is_some();
    for (g, group) in spec.groups.iter().enumerate() {
        let name = groups[g];
        let declared = d.0.groups.contains_key(&GroupName::new(name));
        let live_index = l.0.groups.iter().position(|lg| lg.id == group_id(name));
        if declared {
            if let Some(access) = &group.access {
                d = d.access(name, entries(access, job_manager_known));
            }
            if let Some(rules) = &group.rules {
                let declared_rules: Vec<DesiredRule> = (rules.iter().enumerate())
                    .filter_map(|(i, v)| v.map(|v| rule_variant(RULE_NAMES[i], v)))
                    .collect();
                d = d.rules(name, declared_rules);
            }
        }
        let Some(li) = live_index else { continue };
        let governs = |some: bool| declared && some;
        if governs(group.access.is_some()) || group.policies_read {
            l = live_policies(l, name, group);
        }
        if governs(group.rules.is_some()) || group.rules_read {
            let rules = live_rules(li, group);
            l = l.live_rules(name, rules);
        }
        for (j, email) in emails.iter().enumerate() {
            if group.dynamic & (1 << j) != 0 {
                l = l.dynamic_member(name, email);
            }
        }
    }
    l = read_user_groups(l, spec, emails);
    (d.0, l.0)
}

fn entries(access: &[Option<u8>; 6], job_manager_known: bool) -> Vec<DesiredAccess> {
    let mut entries = Vec::new();
    for ((entry, _, roles), mask) in targets().into_iter().zip(access) {
        let Some(mask) = mask else { continue };
        let mut chosen: Vec<&str> = (roles.iter().enumerate())
            .filter(|(i, r)| mask & (1 << i) != 0 && (**r != "JobManager" || job_manager_known))
            .map(|(_, r)| *r)
            .collect();
        if chosen.is_empty() {
            chosen.push(roles[0]);
        }
        entries.push(DesiredAccess {
            roles: chosen.into_iter().map(RoleName::new).collect(),
            ..entry
        });
    }
    entries
}

fn live_policies(mut l: Live, name: &str, group: &GroupSpec) -> Live {
    l = l.policies_read(name);
    for (t, ((_, target, roles), mask)) in targets().into_iter().zip(&group.policies).enumerate() {
        let Some(mask) = mask else { continue };
        let pool = live_role_pool(roles);
        let granted: Vec<RoleCrn> = (pool.iter().enumerate())
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, c)| c.clone())
            .collect();
        l = l.policy(name, &format!("policy-{name}-{t}"), target, &granted);
    }
    if group.unexpressible {
        l = l.policy_shaped(
            name,
            &format!("policy-{name}-cond"),
            PolicyShape::Unexpressible("a time-based condition".into()),
            &[ibm_role("Reader")],
        );
    }
    l
}

fn live_rules(li: usize, group: &GroupSpec) -> Vec<LiveRule> {
    (group.live_rules.iter().enumerate())
        .map(|(i, (n, variant, upper))| {
            let name = match RULE_NAMES.get(usize::from(*n)) {
                Some(name) if *upper => name.to_uppercase(),
                Some(name) => name.to_string(),
                None => String::new(),
            };
            live_rule(&format!("rule-{li}-{i}"), &rule_variant(&name, *variant))
        })
        .collect()
}

/// The groups of the users whose groups were read: every live group they are a member
/// of, and `lab` (a group no file here manages) for some.
fn read_user_groups(mut l: Live, spec: &AccessSpec, emails: &[&str]) -> Live {
    for (j, email) in emails.iter().enumerate() {
        let Some(in_lab) = spec.user_groups.get(j).copied().flatten() else {
            continue;
        };
        let mut refs: Vec<GroupRef> = (l.0.groups.iter())
            .filter(|g| g.members.iter().flatten().any(|m| m.iam_id == iam(email)))
            .map(|g| GroupRef {
                id: g.id.clone(),
                name: g.name.clone(),
            })
            .collect();
        if in_lab {
            refs.push(GroupRef {
                id: AccessGroupId::new("AccessGroupId-lab"),
                name: GroupName::new("lab"),
            });
        }
        l.0.user_groups.insert(iam(email), refs);
    }
    l
}
